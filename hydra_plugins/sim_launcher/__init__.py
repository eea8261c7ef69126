"""Hydra launchers of this project (found by Hydra's plugin discovery in ``hydra_plugins``)."""
