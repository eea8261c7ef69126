"""The YAML files under ``configs/``, generated from the config dataclasses.

Defaults, types, ranges and help lines are declared once, with
:func:`~sim.core.params.param`, in the dataclasses: the model's in
:mod:`sim.core.config` (:class:`~sim.core.config.SimConfig`) and each strategy's
in its ``Params`` (``sim/core/strategies/<name>.py``). The YAML files Hydra reads
repeat the defaults with their help lines as comments, so that a user sees them
where they set them (and ``python -m sim run --help`` prints them). Those lines
are generated here, never edited by hand:

- ``configs/config.yaml``: every model key with its default and its help line,
  between the two marker lines ``# >>> generated ...`` and ``# <<< generated``;
- ``configs/strategy/<name>.yaml``: the strategy's ``params:`` block (its
  ``Params`` defaults with their help lines), between the same markers.

Regenerate after changing a dataclass, then commit the YAML files::

    make configs                                  # = python -m sim.workflow.configs_yaml --write
    python -m sim.workflow.configs_yaml --check   # exit 1 and name the stale files

``tests/test_config.py`` fails when a checked-in file differs from what this
module generates, and when a strategy file declares a parameter with a value
other than its ``Params`` default (:func:`strategy_params_conflicts`).

Only the text between the markers is generated; everything else in a file is
hand-written and kept verbatim: the header comments, ``defaults:`` and the whole
``hydra:`` section of ``config.yaml`` (Hydra's own settings, not the model's),
and the header, ``name``, ``shares`` (and ``assign``) of each strategy file. Those
are words about the file and Hydra settings, not parameters the dataclasses
declare; generating them from Python strings would move YAML into Python for no
gain. ``configs/strategy/mixed.yaml`` is not a strategy module: it has no
markers and keeps ``params: {}`` (per-run overrides, none by default). A strategy
with parameters whose file has no markers yet gets its block appended at the end.

Why the strategy files repeat the parameters at all (rather than leave them to
``Params`` alone): with the keys present in the composed config,
``+strategy=lions strategy.params.lions.focus_k=3`` (and a sweep over it) works
without Hydra's ``+`` and gives the same run folder names as before, and the
file shows the user what can be set. The copy is generated and checked, so it
cannot drift: a ``mixed`` run (which takes ``Params`` defaults) and a
``+strategy=lions`` run (which takes the file's values) use the same parameters.

The output is deterministic: it depends only on the dataclasses and on the
hand-written text of the files (no dates, paths of this machine or set order).

The dataclasses are not registered as Hydra structured configs (ConfigStore):
OmegaConf would then check types itself, before :func:`~sim.core.config.build_config`,
and differently: it refuses ``n_workers=1e5`` (accepted here as 100000), silently
turns ``output.ties=yes`` or ``ties.evolve=1`` into true and ``'0.1'`` into 0.1
(errors here), and reports in several lines without the ``key=value: reason`` form.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from sim.core.config import SimConfig
from sim.core.strategies import available, get_strategy
from sim.errors import ConfigError
from sim.results.files import write_text_atomic

# the source tree's configs/ (this tool edits a checkout; an installed package is not edited)
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
COMMAND = "make configs"
BEGIN = "# >>> generated"
END = "# <<< generated"
# chosen with +strategy=NAME (configs/strategy/), so not in config.yaml
NOT_IN_CONFIG_YAML = ("strategy",)


# --------------------------------------------------------------------------- YAML text


def yaml_scalar(value: Any) -> str:
    """One YAML value that loads back (PyYAML and OmegaConf) to ``value`` with its type.

    Args:
        value: None, a bool, int, float or str, or a list of them (a flow sequence).

    Returns:
        The text, e.g. ``null``, ``true``, ``10000``, ``0.0045``, ``vacancies``, ``[1, 2]``.

    Raises:
        TypeError: for any other type (a default the YAML files cannot state).
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:  # 1e-05: YAML 1.1 needs 1.0e-05
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, list):
        return "[" + ", ".join(yaml_scalar(v) for v in value) + "]"
    if isinstance(value, str):
        # plain only where nothing could end it early (a comment, a mapping, a flow list)
        plain = (value and value == value.strip() and not any(c in value for c in "#:,[]{}")
                 and yaml.safe_load(value) == value)
        return value if plain else json.dumps(value)  # JSON strings are YAML double-quoted
    raise TypeError(f"{value!r}: a default of type {type(value).__name__} cannot be written "
                    "as a YAML scalar")


def _line(indent: int, key: str, value: str | None, help: str) -> str:
    text = "  " * indent + (f"{key}: {value}" if value is not None else f"{key}:")
    return f"{text}  # {help}" if help else text


def dataclass_yaml(obj: Any, indent: int = 0, skip: Sequence[str] = ()) -> list[str]:
    """The lines of a config dataclass instance: ``key: default  # help``, nested by section.

    A field holding a dataclass (a section, or a per-kind value) becomes a mapping
    whose help line is the comment of its key; a dict field a block mapping.

    Args:
        obj: an instance of a dataclass declared with :func:`~sim.core.params.param`
            (its values are the defaults to write).
        indent: nesting level (two spaces each).
        skip: names of fields to leave out.

    Returns:
        The lines, without line ends.
    """
    lines = []
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        value, help = getattr(obj, f.name), f.metadata.get("help", "")
        if dataclasses.is_dataclass(value):
            lines.append(_line(indent, f.name, None, help))
            lines += dataclass_yaml(value, indent + 1)
        elif isinstance(value, Mapping):
            if value:
                lines.append(_line(indent, f.name, None, help))
                lines += [_line(indent + 1, str(k), yaml_scalar(v), "") for k, v in value.items()]
            else:
                lines.append(_line(indent, f.name, "{}", help))
        else:
            lines.append(_line(indent, f.name, yaml_scalar(value), help))
    return lines


def _source(cls: type) -> str:
    return cls.__module__.replace(".", "/") + ".py"


def config_block() -> str:
    """The generated part of ``configs/config.yaml``: every model key, its default and help.

    Returns:
        The lines between (and including) the markers, each ending in a newline.
    """
    lines = [f"{BEGIN} by `{COMMAND}` from the dataclasses in {_source(SimConfig)} "
             "(defaults, help): edit them there"]
    lines += dataclass_yaml(SimConfig(), skip=NOT_IN_CONFIG_YAML)
    lines.append(f"{END} (every key above)")
    return "".join(line + "\n" for line in lines)


def strategy_block(name: str) -> str:
    """The generated part of ``configs/strategy/<name>.yaml``: the strategy's ``params:``.

    Args:
        name: a registered strategy (:func:`~sim.core.strategies.available`).

    Returns:
        The lines between (and including) the markers, each ending in a newline; a
        strategy without parameters gets the two markers and no ``params:`` key.
    """
    cls = get_strategy(name)
    where = f"{cls.__qualname__}.Params in {_source(cls)}"
    lines = [f"{BEGIN} by `{COMMAND}` from {where} (defaults, help): edit them there"]
    if dataclasses.fields(cls.Params):
        lines += ["params:", f"  {name}:"] + dataclass_yaml(cls.Params(), indent=2)
    lines.append(f"{END} (the params above)")
    return "".join(line + "\n" for line in lines)


def splice(text: str, block: str, where: str = "the file", append: bool = False) -> str:
    """``text`` with the lines between the markers (both included) replaced by ``block``.

    Args:
        text: the file's current text.
        block: the new generated lines, markers included.
        where: the file's name, for the error message.
        append: where ``text`` has no markers, append ``block`` at the end (else an error).

    Returns:
        The new text; everything outside the markers is unchanged.

    Raises:
        ConfigError: a marker is missing (and ``append`` is false), repeated, or out of order.
    """
    lines = text.splitlines(keepends=True)
    begins = [i for i, line in enumerate(lines) if line.startswith(BEGIN)]
    ends = [i for i, line in enumerate(lines) if line.startswith(END)]
    if not begins and not ends and append:
        return text + ("" if not text or text.endswith("\n") else "\n") + block
    if len(begins) != 1 or len(ends) != 1 or ends[0] < begins[0]:
        raise ConfigError(f"{where}: needs one line starting '{BEGIN}' and one after it starting "
                          f"'{END}' around the generated keys (found {len(begins)} and "
                          f"{len(ends)}); restore them, then run `{COMMAND}`")
    return "".join(lines[:begins[0]]) + block + "".join(lines[ends[0] + 1:])


def render_config_yaml(text: str) -> str:
    """``configs/config.yaml`` as generated: ``text`` with its generated part rewritten.

    Args:
        text: the file's current text (its hand-written header and ``hydra:`` section
            are kept verbatim).

    Returns:
        The file's text.
    """
    return splice(text, config_block(), "configs/config.yaml")


def render_strategy_yaml(name: str, text: str) -> str:
    """``configs/strategy/<name>.yaml`` as generated: ``text`` with its ``params:`` rewritten.

    Args:
        name: the strategy.
        text: the file's current text (header, ``name``, ``shares`` kept verbatim).

    Returns:
        The file's text (the block appended where the file has no markers yet and the
        strategy has parameters; unchanged where it has neither).
    """
    block = strategy_block(name)
    has_params = bool(dataclasses.fields(get_strategy(name).Params))
    if not has_params and BEGIN not in text and END not in text:
        return text
    return splice(text, block, f"configs/strategy/{name}.yaml", append=True)


def generated_files(config_dir: Path = CONFIG_DIR) -> dict[Path, str]:
    """Every generated file under ``config_dir`` and the text it should have.

    Args:
        config_dir: the ``configs/`` folder (its files' hand-written parts are read).

    Returns:
        Path to text, for ``config.yaml`` and each registered strategy's file.

    Raises:
        ConfigError: a file is missing or its markers are broken.
    """
    out = {}
    path = config_dir / "config.yaml"
    out[path] = render_config_yaml(_read(path))
    for name in available():
        path = config_dir / "strategy" / f"{name}.yaml"
        out[path] = render_strategy_yaml(name, _read(path))
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing (every strategy needs configs/strategy/NAME.yaml "
                          "with its header, name and shares)") from None


def stale_files(config_dir: Path = CONFIG_DIR) -> list[Path]:
    """The generated files whose checked-in text differs from the generator's.

    Args:
        config_dir: the ``configs/`` folder.

    Returns:
        Their paths (empty when every file is up to date).
    """
    return [p for p, text in generated_files(config_dir).items() if p.read_text() != text]


# --------------------------------------------------------------------------- checks


def strategy_params_conflicts(path: Path) -> list[str]:
    """Parameters a strategy file declares with another value (or type) than ``Params``.

    Every ``params.<strategy>.<key>`` in the file (any strategy file, ``mixed.yaml``
    included) must be a parameter of that strategy's ``Params`` with its default:
    a second declaration with another value would make a run of that file and a
    ``mixed`` run (which takes the defaults) use different parameters.

    Args:
        path: a ``configs/strategy/*.yaml`` file.

    Returns:
        One line per conflict (empty when the file agrees with the dataclasses).
    """
    data = yaml.safe_load(path.read_text()) or {}
    params = data.get("params") or {}
    if not isinstance(params, Mapping):
        return [f"{path.name}: params={params!r}: must be a mapping of strategies"]
    out = []
    for strategy, values in params.items():
        if strategy not in available():
            out.append(f"{path.name}: params.{strategy}: unknown strategy")
            continue
        if not isinstance(values, Mapping):
            out.append(f"{path.name}: params.{strategy}={values!r}: must be a mapping of "
                       "parameters")
            continue
        cls = get_strategy(strategy)
        defaults = dataclasses.asdict(cls.Params())
        where = f"{cls.__qualname__}.Params ({_source(cls)})"
        for key, value in values.items():
            key_name = f"{path.name}: params.{strategy}.{key}"
            if key not in defaults:
                out.append(f"{key_name}: not a parameter of {where}")
            elif value != defaults[key] or type(value) is not type(defaults[key]):
                out.append(f"{key_name}={value!r}: {where} declares {defaults[key]!r}")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Check (default) or rewrite the generated YAML files.

    Args:
        argv: ``--write`` to rewrite the stale files, ``--check`` (the default) to list
            them; ``--dir PATH`` for another ``configs/`` folder.

    Returns:
        0 when every file is (now) up to date, 1 when ``--check`` found stale files.
    """
    ap = argparse.ArgumentParser(prog="python -m sim.workflow.configs_yaml",
                                 description=__doc__.split("\n\n")[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="rewrite the stale files")
    mode.add_argument("--check", action="store_true", help="list stale files, exit 1 if any")
    ap.add_argument("--dir", type=Path, default=CONFIG_DIR, help="the configs/ folder")
    args = ap.parse_args(argv)
    try:
        files = generated_files(args.dir)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    stale = [p for p, text in files.items() if p.read_text() != text]
    for path in stale:
        if args.write:
            write_text_atomic(path, files[path])
        print(f"{'rewrote' if args.write else 'stale'}: {path}")
    if stale and not args.write:
        print(f"run `{COMMAND}` (python -m sim.workflow.configs_yaml --write)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
