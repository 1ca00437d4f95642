"""Order of the examples in the gallery: a learning path, then the rest by name."""

ORDER = (
    "plot_quickstart.py",
    "plot_chest_xray.py",
    "plot_training_curves.py",
    "plot_conditional_sampling.py",
    "plot_custom_generator.py",
    "plot_augmenter_vs_imblearn.py",
    "plot_metrics_features.py",
    "plot_grid_search.py",
)


class ExampleOrder:
    """sphinx-gallery ``within_subsection_order`` key: :data:`ORDER` first."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __repr__(self):
        return "<ExampleOrder>"

    def __call__(self, filename):
        name = str(filename).rsplit("/", 1)[-1]
        if name in ORDER:
            return (0, ORDER.index(name), name)
        return (1, 0, name)
