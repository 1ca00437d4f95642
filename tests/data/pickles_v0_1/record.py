"""Write the pickles of this folder (run from the repository root).

``PYTHONPATH=. python tests/data/pickles_v0_1/record.py`` pickles two tiny models as the
package stood before its modules moved into folders (``skgan.gan`` and private
modules at the package root), with the samples they give, so that
``tests/test_estimator_state.py`` can check that such pickles still load.
"""

import pickle
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits

from tests._tiny import tiny_gan

if __name__ == "__main__":
    torch.set_num_threads(1)
    folder = Path(__file__).parent
    digits = load_digits()
    X, y = digits.data[:200], digits.target[:200]
    models = {
        "unconditional": tiny_gan(epochs=2).fit(X),
        "conditional": tiny_gan(epochs=2, conditional=True).fit(X, y),
    }
    expected = {}
    for name, model in models.items():
        (folder / f"{name}.pkl").write_bytes(pickle.dumps(model))
        out = model.sample(6, random_state=0)
        if model.conditional:
            expected[f"{name}_labels"] = out[1]
            out = out[0]
        expected[name] = out
    np.savez_compressed(folder / "expected_samples.npz", **expected)
    print(sorted(p.name for p in folder.iterdir()))
