"""The run configurations, installed as the package ``sim.configs`` (see setup.py).

This file makes ``sim.configs`` a regular package, so that
``importlib.resources.files("sim.configs")`` is a plain folder that Hydra can read.
"""
