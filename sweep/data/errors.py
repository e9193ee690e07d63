"""The one error type for every data problem, shared by the Fashion-MNIST and own-data loaders."""


class DatasetError(RuntimeError):
    """The dataset is missing, truncated, or not what it should be (one line says what)."""
