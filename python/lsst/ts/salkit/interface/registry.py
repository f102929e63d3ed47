"""Find the interface of a SAL component by name."""

from __future__ import annotations

__all__ = [
    "GENERICS_FILE_NAME",
    "INTERFACE_PATH_ENV_VAR",
    "UnknownComponentError",
    "add_interface_dir",
    "component_names",
    "get_component_info",
    "load_generics",
    "interface_dirs",
]

import functools
import os
import pathlib
import typing

import yaml

from .component_info import ComponentInfo, InterfaceDefinitionError
from .ts_xml import TS_XML_DIR_ENV_VAR, read_ts_xml_component, ts_xml_dir

#: Environment variable: extra directories of component YAML files,
#: separated by os.pathsep; searched before the package's own directory.
INTERFACE_PATH_ENV_VAR = "LSST_SALKIT_INTERFACE_PATH"

#: Name of the generics file in the package data directory.
GENERICS_FILE_NAME = "SALGenerics.yaml"

_PACKAGE_DIR = pathlib.Path(__file__).resolve().parent.parent / "data" / "interfaces"
_extra_dirs: list[pathlib.Path] = []


class UnknownComponentError(LookupError):
    """No interface definition exists for a SAL component name."""


def add_interface_dir(path: str | os.PathLike[str]) -> None:
    """Add a directory of ``<Component>.yaml`` interface files.

    Directories added later are searched first. Use this for components
    defined outside salkit (e.g. by a CSC package).

    Raises
    ------
    NotADirectoryError
        If ``path`` is not an existing directory.
    """
    resolved = pathlib.Path(path).resolve()
    if not resolved.is_dir():
        raise NotADirectoryError(f"Interface directory {str(path)!r} does not exist or is not a directory")
    if resolved not in _extra_dirs:
        _extra_dirs.insert(0, resolved)
    get_component_info.cache_clear()


def interface_dirs() -> list[pathlib.Path]:
    """Return the directories searched for component files, in search order."""
    env_dirs = [pathlib.Path(p) for p in os.environ.get(INTERFACE_PATH_ENV_VAR, "").split(os.pathsep) if p]
    return [*env_dirs, *_extra_dirs, _PACKAGE_DIR]


def component_names() -> list[str]:
    """Return the sorted names of all known components."""
    names: set[str] = set()
    for directory in interface_dirs():
        if directory.is_dir():
            names.update(p.stem for p in directory.glob("*.yaml") if p.name != GENERICS_FILE_NAME)
    return sorted(names)


@functools.cache
def load_generics() -> dict[str, typing.Any]:
    """Return the parsed generics file (cached; do not modify)."""
    with open(_PACKAGE_DIR / GENERICS_FILE_NAME) as f:
        return typing.cast(dict[str, typing.Any], yaml.safe_load(f))


@functools.cache
def get_component_info(name: str) -> ComponentInfo:
    """Return the interface of a SAL component (cached).

    Parameters
    ----------
    name : `str`
        SAL component name, e.g. ``Test`` or ``MTArchiver``.

    If ``$LSST_SALKIT_TS_XML_DIR`` names ts_xml's ``sal_interfaces``
    directory and ts_xml defines the component, it is built from the XML
    (see `lsst.ts.salkit.interface.ts_xml`); otherwise from its YAML file.

    Raises
    ------
    UnknownComponentError
        If no ``<name>.yaml`` exists in any interface directory.
    InterfaceDefinitionError
        If the file is malformed.
    """
    if not name or name == pathlib.Path(GENERICS_FILE_NAME).stem or "/" in name or os.sep in name:
        raise UnknownComponentError(f"{name!r} is not a valid SAL component name")
    xml_dir = ts_xml_dir()
    if xml_dir is not None:
        from_xml = read_ts_xml_component(xml_dir, name)
        if from_xml is not None:
            source = f"{xml_dir} (${TS_XML_DIR_ENV_VAR})"
            return ComponentInfo.from_definitions(name, from_xml, load_generics(), source=source)
    for directory in interface_dirs():
        path = directory / f"{name}.yaml"
        if path.is_file():
            with open(path) as f:
                try:
                    raw = yaml.safe_load(f)
                except yaml.YAMLError as e:
                    raise InterfaceDefinitionError(f"{path}: not valid YAML: {e}") from e
            if not isinstance(raw, dict):
                raise InterfaceDefinitionError(f"{path}: must contain a mapping")
            return ComponentInfo.from_definitions(name, raw, load_generics(), source=str(path))
    raise UnknownComponentError(
        f"No such SAL component {name!r}: no {name}.yaml in {[str(d) for d in interface_dirs()]}; "
        f"known components: {component_names()}"
    )
