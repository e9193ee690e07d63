"""The built-in search spaces, one YAML file each.

pyproject.toml ships this folder inside the package as ``sweep.search_spaces``, so an installed wheel
finds them from any folder (``sweep.space.spec`` reads them through importlib.resources). The file exists
because setuptools' editable installs find a subpackage mapped from outside ``sweep/`` only when it is a
regular package, not a namespace one.
"""
