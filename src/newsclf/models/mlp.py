"""A small MLP over dense features: trained with torch (seeded, CPU), applied with numpy from plain arrays.

The fitted state is a dict of float32 arrays (input mean / scale, two weight matrices, two biases), so it goes
into safetensors as it is and prediction needs neither torch nor pickle.
"""

from __future__ import annotations

import numpy as np


def balanced_weights(y: np.ndarray, n_classes: int, power: float = 1.0) -> np.ndarray:
    """(n / (k * count_c)) ** power per class: 1 = sklearn's 'balanced', 0 = uniform, in between = softened."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    weights = len(y) / (n_classes * np.maximum(counts, 1.0))
    return weights ** float(power)


def fit_mlp(X: np.ndarray, y: np.ndarray, n_classes: int, *, hidden: int = 256, dropout: float = 0.3,
            input_dropout: float = 0.1, epochs: int = 10, batch_size: int = 128, learning_rate: float = 1e-3,
            weight_decay: float = 1e-4, class_weights: np.ndarray | None = None, seed: int = 0) -> dict:
    """One hidden ReLU layer, AdamW, weighted cross-entropy; returns the numpy state (see :func:`mlp_logits`)."""
    import torch

    torch.manual_seed(seed)
    mean, scale = X.mean(axis=0), X.std(axis=0) + 1e-6
    Xt = torch.tensor((X - mean) / scale, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.long)
    net = torch.nn.Sequential(torch.nn.Dropout(input_dropout), torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(),
                              torch.nn.Dropout(dropout), torch.nn.Linear(hidden, n_classes))
    opt = torch.optim.AdamW(net.parameters(), lr=learning_rate, weight_decay=weight_decay)
    weights = balanced_weights(y, n_classes) if class_weights is None else class_weights
    loss_fn = torch.nn.CrossEntropyLoss(weight=torch.tensor(weights, dtype=torch.float32))
    order = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(yt), generator=order)
        for start in range(0, len(yt), batch_size):
            idx = perm[start:start + batch_size]
            opt.zero_grad()
            loss_fn(net(Xt[idx]), yt[idx]).backward()
            opt.step()
    first, last = net[1], net[4]
    return {"mean": mean.astype(np.float32), "scale": scale.astype(np.float32),
            "w1": first.weight.detach().numpy().copy(), "b1": first.bias.detach().numpy().copy(),
            "w2": last.weight.detach().numpy().copy(), "b2": last.bias.detach().numpy().copy()}


def mlp_logits(state: dict, X: np.ndarray) -> np.ndarray:
    """The eval-mode forward pass (dropout off) in numpy."""
    z = (np.asarray(X, dtype=np.float32) - state["mean"]) / state["scale"]
    hidden = np.maximum(z @ state["w1"].T + state["b1"], 0.0)
    return (hidden @ state["w2"].T + state["b2"]).astype(np.float64)
