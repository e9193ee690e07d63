# %% [markdown]
# # sweep in a notebook
#
# The README's Python walk-through as cells (`# %%`: Jupyter, VS Code and jupytext open this file
# as a notebook). It runs from a fresh clone, offline, in about a minute on two CPU cores:
# `python results/reference/notebook.py` from the repository root. The test suite runs it too
# (tests/test_api.py) and checks the tables, the HTML display and the figures.
#
# It tunes the notes' search space on scikit-learn's bundled digits (8x8 images, 1,797 of them),
# to show your own data as well; leave `data=` out and the same calls run on Fashion-MNIST.

# %%
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

import sweep

Path("results").mkdir(exist_ok=True)
digits = load_digits()
images, labels = digits.images.astype(np.uint8), digits.target  # 8x8 pixels, values 0..16, classes 0..9
np.savez("results/digits.npz", x_train=images[:1500], y_train=labels[:1500], x_test=images[1500:], y_test=labels[1500:])

# %% [markdown]
# `sweep.run` is `sweep run`: the same defaults, the same storage (`sqlite:///results/sweep.db`).
# The input shape (8, 8), the 10 classes and the pixel scaling (1/16) come from the file; the
# SGDClassifier baseline is fitted on the same 80/20 split. A live bar shows progress.

# %%
study = sweep.run(space="notes", trials=4, timeout="5m", data="results/digits.npz", study="digits")
study  # noqa: B018  (in Jupyter: counts, best against the baseline, time, and the top rows)

# %% [markdown]
# The ranked table is a pandas DataFrame, exactly what `sweep table --study digits` prints,
# baseline row included (and highlighted in Jupyter).

# %%
table = study.table()
table  # noqa: B018  (a cell's last value is what Jupyter shows)

# %%
study.table(state="complete", top=3, sort="val_accuracy")

# %% [markdown]
# A study run in a terminal overnight reads the same way: `sweep.load` never imports TensorFlow.

# %%
same = sweep.load("digits")
assert same.table().equals(table)
best = same.best()  # the record `sweep best` writes
print(best["trial"], round(best["val_accuracy"], 4), "baseline", round(same.baseline["val_accuracy"], 4))

# %% [markdown]
# The report's figures, one by one, as plotly figures that render inline.

# %%
figures = study.figures()  # history, curves, importances, parallel (those the trials can draw)
figures["history"]

# %% [markdown]
# Retrain the best trial with its seed (the test set only when asked), export it, write the report.
# `train` and `export` use the .npz the study ran on.

# %%
metrics = study.train(best, test=True)
exported = study.export("results/digits/export")
page = study.report()
print(f"retrained {metrics['val_accuracy']:.4f}, test {metrics['test_accuracy']:.4f}; report at {page}")
