"""Sphinx configuration of the skgan documentation.

Build (from the repository root; warnings are errors, as in CI)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Every ``examples/plot_*.py`` is executed by sphinx-gallery; a failing example
fails the build. ``-D plot_gallery=0`` skips running them (a quick check of
the text pages). Nothing is downloaded at build time: intersphinx is off unless
``SKGAN_DOCS_INTERSPHINX=1`` is set on a machine with internet access.
"""

import os
import re
import sys
from pathlib import Path

# Set before torch is first imported (by skgan, just below). OpenMP worker
# threads that spin while they wait make torch 5-10 times slower on a shared,
# oversubscribed CPU (a CI runner, a machine running other jobs); passive
# waiting keeps the examples' run times stable there. See user_guide/performance.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import skgan  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "sphinxext"))

# -- Project -----------------------------------------------------------------

project = "skgan"
author = "skgan developers"
copyright = "skgan developers, BSD-3-Clause"  # noqa: A001
release = skgan.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_design",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
default_role = "py:obj"  # `name` links to the API reference when it can
pygments_style = "sphinx"

# -- autodoc / autosummary / numpydoc -----------------------------------------

autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # types are written in the numpydoc sections

# Class members are listed by the autosummary templates in docs/_templates
# (class.rst: own members only, so torch.nn.Module subclasses do not list
# every inherited method; estimator.rst: also what is inherited from
# imbalanced-learn, but not from BaseEstimator; function.rst), each with an
# "Examples using" mini-gallery. numpydoc does not list them again.
numpydoc_show_class_members = False
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
# Docstring style is checked by review and ruff, not at build time.
numpydoc_validation_checks = set()
numpydoc_xref_param_type = False

# -- Intersphinx: offline by default ------------------------------------------

if os.environ.get("SKGAN_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "torch": ("https://docs.pytorch.org/docs/stable", None),
        "imblearn": ("https://imbalanced-learn.org/stable", None),
        "matplotlib": ("https://matplotlib.org/stable", None),
        "PIL": ("https://pillow.readthedocs.io/en/stable", None),
    }

# -- sphinx-gallery -----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run every plot_*.py; other .py files in examples/ are shown, not run.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "example_order.ExampleOrder",
    # "Examples using X" on each API page.
    "backreferences_dir": "generated/backreferences",
    "doc_module": ("skgan",),
    "image_scrapers": ("matplotlib",),
    "remove_config_comments": True,
    "min_reported_time": 0,
    "write_computation_times": True,
    # A failing example fails the build (after all examples ran).
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "download_all_examples": True,
    "matplotlib_animations": False,
    "thumbnail_size": (400, 280),
    "capture_repr": ("__repr__",),
    "ignore_repr_types": r"matplotlib[\w.]*|PIL[\w.]*|pathlib[\w.]*",
}

# -- HTML ---------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skgan {release}"
html_show_sourcelink = False
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc", "sg_download_links", "sg_launcher_links"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
html_sidebars = {"changelog": [], "getting_started": []}
html_context = {"default_mode": "light"}


# -- Hooks --------------------------------------------------------------------

_STAR_IN_SHAPE = re.compile(r"(shape \([^)]*?), \*(?=\w)")


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Hide scikit-learn's metadata-routing methods.

    ``set_{method}_request`` (generated on each estimator class) and
    ``get_metadata_routing`` carry scikit-learn's own docstrings, with
    references into scikit-learn's documentation.
    """
    if name == "get_metadata_routing" or (
        name.startswith("set_") and name.endswith("_request")
    ):
        return True
    return None


def _escape_star_in_shapes(app, what, name, obj, options, lines):
    """Escape ``*`` in shape descriptions such as ``(n_samples, *X.shape[1:])``.

    Without it reStructuredText reads the star as the start of emphasis.
    """
    lines[:] = [_STAR_IN_SHAPE.sub(r"\1, \\*", line) for line in lines]


def setup(app):
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
    # After numpydoc (priority 500), on the reStructuredText it produced.
    app.connect("autodoc-process-docstring", _escape_star_in_shapes, priority=900)
