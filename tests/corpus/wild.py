"""A second corpus: small NumPy programs written the way users write them, without first
checking what tensordiff supports (ML losses and layers, statistics, physics, matrix-calculus
exercises, signal processing, np.linalg numerics, ndarray methods, loops, masks, sorting).

Each program takes the NumPy module as its first parameter, named ``np``, so the same body
runs on ``jax.numpy`` (``special(np)`` and ``linalg(np)`` give scipy's or JAX's twin).
``@program(shape, low, high)`` gives the input's shape and the range of its entries;
``builds=True`` marks programs that build an array from a list of traced values
(``np.array([a, b])``, ``np.asarray(x)``, ``np.r_``, ``np.mean([..])``), counted apart.
tests/corpus/test_wild.py holds which programs are refused and checks the others against
JAX (or central differences where JAX cannot run the program, as for item assignment);
``python -m tests.corpus.measure`` prints the rates.
"""

import importlib
import math

import numpy
import scipy.linalg
import scipy.special
from scipy.spatial.distance import cdist

WILD = {}
BUILDS = set()  # programs that build arrays from lists of traced values


def program(shape, low=-1.0, high=1.0, builds=False):
    def register(f):
        assert f.__name__ not in WILD, f.__name__
        WILD[f.__name__] = (f, shape, low, high)
        if builds:
            BUILDS.add(f.__name__)
        return f

    return register


def special(np):
    """scipy.special, or jax.scipy.special for jax.numpy."""
    return scipy.special if np is numpy else importlib.import_module("jax.scipy.special")


def linalg(np):
    """scipy.linalg, or jax.scipy.linalg for jax.numpy."""
    return scipy.linalg if np is numpy else importlib.import_module("jax.scipy.linalg")


def _data(*shape, seed=0):
    """A fixed data array (the program's constants), the same for NumPy and JAX."""
    return numpy.cos(numpy.arange(1.0, 1.0 + math.prod(shape)) * (1.3 + seed)).reshape(shape)


# ---- machine learning: losses ------------------------------------------------------------
@program((6,))
def mse_loss(np, pred):
    target = np.linspace(-1, 1, 6)
    return np.mean((pred - target) ** 2)


@program((6,))
def mae_loss(np, pred):
    target = np.linspace(-1, 1, 6) + 0.05
    return np.mean(np.abs(pred - target))


@program((5,), 0.05, 0.95)
def binary_cross_entropy_clipped(np, p):
    y = np.array([1, 0, 0, 1, 1])
    eps = 1e-7
    p = np.clip(p, eps, 1 - eps)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


@program((4, 3))
def softmax_cross_entropy_onehot(np, logits):
    labels = np.array([2, 0, 1, 1])
    onehot = np.eye(3)[labels]
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return -(onehot * logp).sum() / logits.shape[0]


@program((4, 3))
def label_smoothing_loss(np, logits):
    labels = np.array([0, 2, 1, 0])
    k = logits.shape[1]
    target = np.full((4, k), 0.1 / (k - 1))
    target[np.arange(4), labels] = 0.9
    logp = logits - np.log(np.sum(np.exp(logits), axis=1))[:, None]
    return -np.sum(target * logp) / 4


@program((5,))
def hinge_loss(np, w):
    X = _data(6, 5)
    y = np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    return np.maximum(0, 1 - y * (X @ w)).mean() + 0.01 * np.dot(w, w)


@program((5,))
def squared_hinge(np, w):
    X = _data(6, 5, seed=1)
    y = np.sign(_data(6, seed=2))
    margins = 1 - y * X.dot(w)
    return np.sum(np.maximum(margins, 0) ** 2)


@program((5,), 0.05, 0.95)
def focal_loss(np, p):
    y = np.array([1.0, 0.0, 1.0, 0.0, 1.0])
    gamma = 2.0
    pt = np.where(y == 1, p, 1 - p)
    return -np.sum((1 - pt) ** gamma * np.log(pt))


@program((6,))
def log_cosh_loss(np, r):
    return np.sum(np.log(np.cosh(r)))


@program((6,))
def pinball_loss(np, r):
    q = 0.3
    return np.mean(np.maximum(q * r, (q - 1) * r))


@program((6,), 0.1, 3.0)
def poisson_nll(np, rate):
    k = np.array([0, 1, 2, 3, 1, 0])
    return np.sum(rate - k * np.log(rate))


@program((4,))
def kl_two_gaussians(np, theta):
    mu1, s1, mu2, s2 = theta[0], np.exp(theta[1]), theta[2], np.exp(theta[3])
    return np.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5


@program((3, 4))
def triplet_loss(np, emb):
    anchor, positive, negative = emb
    d_pos = np.sum((anchor - positive) ** 2)
    d_neg = np.sum((anchor - negative) ** 2)
    return np.maximum(d_pos - d_neg + 0.2, 0.0)


@program((2, 5))
def cosine_embedding_loss(np, pair):
    a, b = pair[0], pair[1]
    cos = a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return 1 - cos


@program((5,))
def logistic_regression_log1p(np, w):
    X = _data(8, 5)
    y = np.where(_data(8, seed=3) > 0, 1.0, -1.0)
    return np.sum(np.log1p(np.exp(-y * (X @ w))))


@program((6,))
def stable_logsumexp_manual(np, x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@program((6,))
def scipy_logsumexp(np, x):
    return special(np).logsumexp(x)


@program((3, 4))
def scipy_logsumexp_axis(np, x):
    return special(np).logsumexp(x, axis=1)


@program((3, 4))
def scipy_log_softmax(np, x):
    return special(np).log_softmax(x, axis=1)


@program((3, 4))
def scipy_softmax(np, x):
    return special(np).softmax(x, axis=-1)


@program((6,))
def scipy_expit(np, x):
    return special(np).expit(3 * x)


@program((6,), 0.1, 0.9)
def scipy_logit(np, p):
    return special(np).logit(p) ** 2


@program((6,))
def scipy_erf_gelu(np, x):
    return 0.5 * x * (1 + special(np).erf(x / np.sqrt(2)))


@program((6,))
def scipy_xlogy_entropy(np, logits):
    p = np.exp(logits) / np.sum(np.exp(logits))
    return -np.sum(special(np).xlogy(p, p))


@program((4,), 0.5, 3.0)
def scipy_gammaln(np, a):
    return np.sum(special(np).gammaln(a)) - special(np).gammaln(np.sum(a))


# ---- machine learning: layers and activations --------------------------------------------
@program((6,))
def sigmoid(np, x):
    return 1 / (1 + np.exp(-x))


@program((6,))
def softmax_vector(np, x):
    return np.exp(x) / np.exp(x).sum()


@program((6,))
def leaky_relu(np, x):
    return np.where(x > 0, x, 0.01 * x)


@program((6,))
def relu_mask_multiply(np, x):
    return x * (x > 0)


@program((6,))
def softsign(np, x):
    return x / (1 + np.abs(x))


@program((6,))
def mish(np, x):
    return x * np.tanh(np.log1p(np.exp(x)))


@program((6,))
def selu(np, x):
    alpha, scale = 1.6732632423543772, 1.0507009873554805
    return scale * np.where(x > 0, x, alpha * (np.exp(x) - 1))


@program((6,))
def hard_sigmoid(np, x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0)


@program((6,))
def relu6(np, x):
    return np.minimum(np.maximum(x, 0), 6)


@program((3, 4))
def dense_layer_with_bias(np, W):
    x = _data(5, 4)
    b = np.array([0.1, -0.2, 0.3])
    return np.tanh(x @ W.T + b)


@program((4, 5))
def rms_norm(np, x):
    g = np.linspace(0.5, 1.5, 5)
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + 1e-6) * g


@program((5, 3))
def batch_norm_affine(np, x):
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, 0.1, -0.1])
    mean = np.mean(x, axis=0)
    var = np.var(x, axis=0)
    return gamma * (x - mean) / np.sqrt(var + 1e-5) + beta


@program((3, 4))
def mlp_loop_over_layers(np, x):
    weights = [_data(4, 4, seed=k) / 2 for k in range(3)]
    h = x
    for W in weights:
        h = np.tanh(h @ W)
    return h.sum(axis=1)


@program((4,))
def dropout_fixed_mask(np, x):
    mask = numpy.array([1.0, 0.0, 1.0, 1.0])
    return x * mask / 0.75


@program((4, 3))
def attention_with_causal_mask(np, x):
    s = x @ x.T
    mask = np.tril(np.ones((4, 4), dtype=bool))
    s = np.where(mask, s, -1e9)
    w = np.exp(s - s.max(axis=-1, keepdims=True))
    w = w / w.sum(axis=-1, keepdims=True)
    return w @ x


@program((4, 6))
def positional_encoding(np, x):
    pos = np.arange(4)[:, None]
    i = np.arange(6)[None, :]
    angle = pos / 10000 ** (2 * (i // 2) / 6)
    pe = np.where(i % 2 == 0, np.sin(angle), np.cos(angle))
    return x + pe


@program((7,))
def conv1d_correlate(np, x):
    k = np.array([1.0, -2.0, 1.0])
    return np.correlate(x, k, mode="valid")


@program((7,), builds=True)
def conv1d_window_loop(np, x):
    k = np.array([0.2, 0.5, 0.3])
    return np.array([np.dot(x[i : i + 3], k) for i in range(len(x) - 2)])


@program((7,))
def conv1d_window_stack(np, x):
    k = np.array([0.2, 0.5, 0.3])
    return np.stack([x[i : i + 3] @ k for i in range(len(x) - 2)])


@program((5, 3))
def embedding_lookup(np, E):
    ids = [0, 3, 3, 1]
    return E[ids].sum(axis=0)


@program((3,))
def gru_cell(np, h):
    x = np.array([0.5, -0.3])
    Wz, Uz = _data(3, 2), _data(3, 3, seed=1) / 3
    Wr, Ur = _data(3, 2, seed=2), _data(3, 3, seed=3) / 3
    Wh, Uh = _data(3, 2, seed=4), _data(3, 3, seed=5) / 3
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    z = sig(Wz @ x + Uz @ h)
    r = sig(Wr @ x + Ur @ h)
    h_new = np.tanh(Wh @ x + Uh @ (r * h))
    return (1 - z) * h + z * h_new


@program((2, 3))
def lstm_cell_split(np, hc):
    h, c = hc
    W = _data(12, 3) / 2
    gates = W @ h
    i, f, g, o = np.split(gates, 4)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    c = sig(f) * c + sig(i) * np.tanh(g)
    return sig(o) * np.tanh(c)


@program((6,))
def maxout(np, x):
    return x.reshape(3, 2).max(axis=1)


@program((5,))
def softmax_temperature(np, x):
    T = 0.5
    z = x / T
    z = z - np.max(z)
    return np.exp(z) / np.sum(np.exp(z))


@program((3, 4))
def bilinear_einsum(np, W):
    x, y = np.arange(3.0), np.linspace(0, 1, 4)
    return np.einsum("i,ij,j->", x, W, y)


@program((2, 3, 4))
def tensordot_layer(np, x):
    W = _data(3, 4, 2)
    return np.tensordot(x, W, axes=([1, 2], [0, 1]))


@program((4,))
def weight_decay_sum_generator(np, w):
    params = [w, w[:2] * 2, w**2]
    return 0.5 * sum(np.sum(p**2) for p in params)


@program((5,))
def ridge_closed_form(np, y):
    X = _data(5, 3)
    lam = 0.1
    beta = np.linalg.solve(X.T @ X + lam * np.eye(3), X.T @ y)
    return X @ beta


@program((6,))
def lstsq_fit(np, y):
    A = np.vstack([np.linspace(0, 1, 6), np.ones(6)]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    return coef


@program((4,))
def swiglu(np, x):
    W, V = _data(4, 4), _data(4, 4, seed=1)
    a, b = x @ W, x @ V
    return a / (1 + np.exp(-a)) * b


@program((3, 4))
def layer_norm_std_method(np, x):
    return (x - x.mean(-1, keepdims=True)) / (x.std(-1, keepdims=True) + 1e-5)


@program((4, 4))
def global_average_pool(np, img):
    return img.mean() + img.max() - img.min()


# ---- statistics ----------------------------------------------------------------------------
@program((8,))
def sample_variance_ddof(np, x):
    return np.var(x, ddof=1)


@program((8,))
def sample_std_ddof(np, x):
    return x.std(ddof=1)


@program((8,))
def zscore(np, x):
    return (x - x.mean()) / x.std()


@program((8,))
def skewness(np, x):
    m = x.mean()
    s = x.std()
    return np.mean(((x - m) / s) ** 3)


@program((8,))
def excess_kurtosis(np, x):
    d = x - np.mean(x)
    return np.mean(d**4) / np.mean(d**2) ** 2 - 3


@program((6,))
def weighted_average(np, x):
    w = np.array([1, 2, 3, 3, 2, 1])
    return np.average(x, weights=w)


@program((6,))
def weighted_average_traced_weights(np, w):
    x = np.arange(6.0)
    return np.average(x, weights=np.exp(w))


@program((7,))
def median(np, x):
    return np.median(x)


@program((8,))
def percentile_75(np, x):
    return np.percentile(x, 75)


@program((8,))
def quantiles(np, x):
    return np.quantile(x, [0.1, 0.5, 0.9])


@program((7,))
def median_absolute_deviation(np, x):
    return np.median(np.abs(x - np.median(x)))


@program((4, 3))
def covariance_matrix(np, X):
    return np.cov(X)


@program((5, 3))
def covariance_rowvar_false(np, X):
    return np.cov(X, rowvar=False)


@program((3, 5))
def correlation_matrix(np, X):
    return np.corrcoef(X)


@program((5, 3))
def covariance_by_hand(np, X):
    Xc = X - X.mean(axis=0)
    return Xc.T @ Xc / (X.shape[0] - 1)


@program((2, 6))
def pearson_r(np, xy):
    x, y = xy
    xm, ym = x - x.mean(), y - y.mean()
    return np.sum(xm * ym) / np.sqrt(np.sum(xm**2) * np.sum(ym**2))


@program((6,), 0.5, 2.0)
def geometric_mean(np, x):
    return np.exp(np.mean(np.log(x)))


@program((6,), 0.5, 2.0)
def harmonic_mean(np, x):
    return len(x) / np.sum(1.0 / x)


@program((6,))
def peak_to_peak(np, x):
    return np.ptp(x)


@program((8,))
def trimmed_mean_sorted(np, x):
    return np.sort(x)[1:-1].mean()


@program((6,))
def nan_aware_mean(np, x):
    return np.nanmean(x) + np.nansum(x**2)


@program((6,))
def r_squared(np, pred):
    y = np.linspace(0, 1, 6) ** 2
    ss_res = np.sum((y - pred) ** 2)
    ss_tot = np.sum((y - y.mean()) ** 2)
    return 1 - ss_res / ss_tot


@program((3,))
def mahalanobis(np, x):
    S = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.5]])
    mu = np.array([0.1, 0.0, -0.1])
    d = x - mu
    return np.sqrt(d @ np.linalg.inv(S) @ d)


@program((3,))
def mvn_logpdf_slogdet(np, x):
    S = np.array([[2.0, 0.3, 0.1], [0.3, 1.0, 0.2], [0.1, 0.2, 1.5]])
    sign, logdet = np.linalg.slogdet(S)
    d = x
    return -0.5 * (d @ np.linalg.solve(S, d) + logdet + 3 * np.log(2 * np.pi))


@program((3, 3))
def mvn_logpdf_wrt_cov(np, A):
    S = A @ A.T + np.eye(3)
    x = np.array([0.3, -0.1, 0.2])
    sign, logdet = np.linalg.slogdet(S)
    return -0.5 * (x @ np.linalg.solve(S, x) + logdet)


@program((2,), 0.2, 1.0)
def normal_loglik_params(np, theta):
    data = np.array([0.1, 0.4, -0.3, 0.8, 0.05])
    mu, sigma = theta
    n = data.size
    return -n * np.log(sigma) - np.sum((data - mu) ** 2) / (2 * sigma**2)


@program((2,), 0.5, 2.0)
def student_t_loglik(np, theta):
    nu, scale = theta
    x = np.array([0.3, -1.2, 2.0])
    sp = special(np)
    z = x / scale
    return np.sum(
        sp.gammaln((nu + 1) / 2)
        - sp.gammaln(nu / 2)
        - 0.5 * np.log(nu * np.pi)
        - np.log(scale)
        - (nu + 1) / 2 * np.log1p(z**2 / nu)
    )


@program((1,), 0.5, 2.0)
def exponential_mle_loglik(np, lam):
    data = np.array([0.2, 1.5, 0.7, 0.1])
    return np.sum(np.log(lam) - lam * data)


@program((4,))
def gini_impurity(np, logits):
    p = np.exp(logits) / np.exp(logits).sum()
    return 1 - np.sum(p**2)


@program((5,))
def ewma_loop(np, x):
    alpha = 0.3
    s = x[0]
    for v in x[1:]:
        s = alpha * v + (1 - alpha) * s
    return s


@program((8,))
def moving_average_convolve(np, x):
    return np.convolve(x, np.ones(3) / 3, mode="valid")


@program((8,))
def moving_average_cumsum(np, x):
    c = np.cumsum(np.insert(x, 0, 0.0))
    return (c[3:] - c[:-3]) / 3


@program((6,))
def standardize_and_clip(np, x):
    z = (x - np.mean(x)) / np.std(x)
    return np.clip(z, -1.5, 1.5)


@program((10,))
def mean_squared_successive_difference(np, x):
    return np.mean(np.diff(x) ** 2)


@program((3, 4))
def row_normalize(np, X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


@program((6,))
def bayesian_posterior_mean(np, x):
    prior_mu, prior_var, noise_var = 0.0, 1.0, 0.5
    n = x.shape[0]
    post_var = 1 / (1 / prior_var + n / noise_var)
    return post_var * (prior_mu / prior_var + x.sum() / noise_var)


# ---- physics and geometry -------------------------------------------------------------------
@program((3, 2))
def kinetic_energy(np, v):
    m = np.array([1.0, 2.0, 0.5])
    return 0.5 * np.sum(m * np.sum(v**2, axis=1))


@program((4, 3))
def lennard_jones(np, pos):
    pos = pos + 2.0 * np.arange(4)[:, None]
    i, j = np.triu_indices(4, k=1)
    r = np.linalg.norm(pos[i] - pos[j], axis=1)
    return np.sum(4 * ((1 / r) ** 12 - (1 / r) ** 6))


@program((4, 3))
def coulomb_energy_loop(np, pos):
    pos = pos + 2.0 * np.arange(4)[:, None]
    q = [1.0, -1.0, 2.0, -0.5]
    energy = 0.0
    for a in range(4):
        for b in range(a + 1, 4):
            energy = energy + q[a] * q[b] / np.linalg.norm(pos[a] - pos[b])
    return energy


@program((5,))
def spring_chain_energy(np, x):
    k, rest = 2.0, 1.0
    x = x + np.arange(5)
    return 0.5 * k * np.sum((np.diff(x) - rest) ** 2)


@program((2,), 0.2, 1.2)
def projectile_range(np, p):
    v, theta = p[0] * 10, p[1]
    return v**2 * np.sin(2 * theta) / 9.81


@program((2, 3))
def cross_product(np, uv):
    return np.cross(uv[0], uv[1])


@program((3, 3))
def triangle_area(np, P):
    return 0.5 * np.linalg.norm(np.cross(P[1] - P[0], P[2] - P[0]))


@program((5, 2))
def polygon_area_shoelace(np, P):
    P = P + np.array([[0, 0], [2, 0], [3, 2], [1, 3], [-1, 1]])
    x, y = P[:, 0], P[:, 1]
    return 0.5 * np.abs(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))


@program((5, 2))
def centroid(np, P):
    return P.mean(axis=0)


@program((6, 2))
def polyline_arc_length(np, P):
    P = P + np.arange(6)[:, None]
    return np.sum(np.sqrt(np.sum(np.diff(P, axis=0) ** 2, axis=1)))


@program((2, 3))
def angle_between(np, uv):
    u, v = uv
    c = np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v))
    return np.arccos(np.clip(c, -1.0, 1.0))


@program((4, 2), 0.2, 1.0)
def polar_coordinates(np, P):
    r = np.hypot(P[:, 0], P[:, 1])
    theta = np.arctan2(P[:, 1], P[:, 0])
    return np.stack([r, theta], axis=1)


@program((3,), 0.2, 1.0, builds=True)
def spherical_to_cartesian(np, s):
    r, theta, phi = s[0], s[1], s[2]
    return np.array(
        [r * np.sin(theta) * np.cos(phi), r * np.sin(theta) * np.sin(phi), r * np.cos(theta)]
    )


@program((1,), builds=True)
def rotation_matrix_2d(np, angle):
    c, s = np.cos(angle[0]), np.sin(angle[0])
    R = np.array([[c, -s], [s, c]])
    return R @ np.array([1.0, 0.5])


@program((3,), builds=True)
def rodrigues_rotation(np, w):
    K = np.array([[0, -w[2], w[1]], [w[2], 0, -w[0]], [-w[1], w[0], 0]])
    theta = np.linalg.norm(w)
    K = K / theta
    R = np.eye(3) + np.sin(theta) * K + (1 - np.cos(theta)) * K @ K
    return R @ np.array([1.0, 2.0, 3.0])


@program((2, 4), builds=True)
def quaternion_product(np, pq):
    a1, b1, c1, d1 = pq[0]
    a2, b2, c2, d2 = pq[1]
    return np.array(
        [
            a1 * a2 - b1 * b2 - c1 * c2 - d1 * d2,
            a1 * b2 + b1 * a2 + c1 * d2 - d1 * c2,
            a1 * c2 - b1 * d2 + c1 * a2 + d1 * b2,
            a1 * d2 + b1 * c2 - c1 * b2 + d1 * a2,
        ]
    )


@program((4, 3))
def inertia_tensor(np, pos):
    m = np.array([1.0, 2.0, 1.5, 0.5])
    r2 = np.sum(pos**2, axis=1)
    return np.einsum("i,jk->jk", m * r2, np.eye(3)) - np.einsum("i,ij,ik->jk", m, pos, pos)


@program((2,))
def pendulum_energy(np, state):
    theta, omega = state
    m, L, g = 1.0, 2.0, 9.81
    return 0.5 * m * L**2 * omega**2 + m * g * L * (1 - np.cos(theta))


@program((2,), builds=True)
def euler_integration(np, y0):
    y = y0
    dt = 0.1
    for _ in range(10):
        dydt = np.array([y[1], -np.sin(y[0])])
        y = y + dt * dydt
    return y


@program((2,))
def euler_integration_concatenate(np, y0):
    y = y0
    dt = 0.1
    for _ in range(10):
        y = y + dt * np.concatenate([y[1:], -np.sin(y[:1])])
    return y


@program((2,))
def rk4_harmonic(np, y0):
    A = np.array([[0.0, 1.0], [-4.0, -0.1]])
    f = lambda y: A @ y  # noqa: E731
    y, h = y0, 0.05
    for _ in range(8):
        k1 = f(y)
        k2 = f(y + h / 2 * k1)
        k3 = f(y + h / 2 * k2)
        k4 = f(y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return y


@program((8,))
def heat_equation_step(np, u):
    r = 0.2
    for _ in range(5):
        lap = np.concatenate([[0.0], u[2:] - 2 * u[1:-1] + u[:-2], [0.0]])
        u = u + r * lap
    return u


@program((8,))
def heat_equation_roll(np, u):
    for _ in range(3):
        u = u + 0.1 * (np.roll(u, 1) - 2 * u + np.roll(u, -1))
    return u


@program((3, 2))
def velocity_verlet(np, state):
    x, v = state[:, 0], state[:, 1]
    dt, k = 0.05, 3.0
    a = -k * x
    for _ in range(5):
        x = x + v * dt + 0.5 * a * dt**2
        a_new = -k * x
        v = v + 0.5 * (a + a_new) * dt
        a = a_new
    return np.concatenate([x, v])


@program((3, 2))
def gravitational_potential(np, pos):
    pos = pos + np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0]])
    m = np.array([1.0, 2.0, 3.0])
    d = np.sqrt(((pos[:, None] - pos[None]) ** 2).sum(-1) + np.eye(3))
    return -0.5 * np.sum((m[:, None] * m[None, :] / d) * (1 - np.eye(3)))


@program((3,))
def wave_superposition(np, phases):
    t = np.linspace(0, 1, 5)
    freqs = np.array([1.0, 2.0, 3.0])
    return np.sum(np.sin(2 * np.pi * freqs[:, None] * t[None, :] + phases[:, None]), axis=0)


@program((4, 2))
def degrees_radians(np, P):
    return np.degrees(np.arctan2(P[:, 1], P[:, 0] + 2)) + np.radians(P[:, 0])


# ---- matrix calculus exercises ------------------------------------------------------------
@program((3,))
def quadratic_form(np, x):
    A = np.array([[2.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 4.0]])
    return x.T @ A @ x


@program((3, 4))
def a_transpose_x_b(np, X):
    a, b = np.arange(1.0, 4.0), np.arange(4.0)
    return a @ X @ b


@program((3, 3))
def trace_AX(np, X):
    A = _data(3, 3)
    return np.trace(A @ X)


@program((3, 4))
def trace_XtX(np, X):
    return np.trace(X.T @ X)


@program((3, 3))
def determinant(np, X):
    return np.linalg.det(X)


@program((3, 3))
def log_det_spd(np, X):
    return np.log(np.linalg.det(X @ X.T + np.eye(3)))


@program((3, 3))
def inverse_matrix(np, X):
    return np.linalg.inv(X + 3 * np.eye(3))


@program((3, 3))
def trace_of_inverse(np, X):
    return np.trace(np.linalg.inv(X + 3 * np.eye(3)))


@program((4,))
def outer_product(np, x):
    return np.outer(x, x)


@program((4,))
def least_squares_residual(np, x):
    A, b = _data(5, 4), _data(5, seed=1)
    return np.linalg.norm(A @ x - b) ** 2


@program((3, 3))
def trace_X_squared(np, X):
    return np.trace(X @ X)


@program((3, 4))
def frobenius_norm(np, X):
    return np.linalg.norm(X, "fro")


@program((3, 4))
def frobenius_by_hand(np, X):
    return np.sqrt(np.sum(X**2))


@program((3, 3))
def solve_linear_system(np, X):
    b = np.array([1.0, 2.0, 3.0])
    return np.linalg.solve(X + 3 * np.eye(3), b)


@program((3,))
def solve_wrt_rhs(np, b):
    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    return np.linalg.solve(A, b)


@program((2, 2))
def kronecker(np, X):
    return np.kron(X, np.eye(2)) @ np.arange(4.0)


@program((3, 3))
def matrix_cube(np, X):
    return np.linalg.matrix_power(X, 3)


@program((3, 3))
def eigvalsh_sum(np, X):
    S = X + X.T
    return np.sum(np.linalg.eigvalsh(S) ** 2)


@program((3, 3))
def largest_eigenvalue(np, X):
    S = X @ X.T
    w = np.linalg.eigvalsh(S)
    return w[-1]


@program((3, 3))
def eigh_vectors_projection(np, X):
    S = X @ X.T + np.diag([0.0, 1.0, 2.0])
    w, V = np.linalg.eigh(S)
    return w[-1] * np.abs(V[:, -1])


@program((3, 4))
def singular_values(np, X):
    return np.linalg.svd(X, compute_uv=False)


@program((3, 4))
def nuclear_norm(np, X):
    return np.linalg.norm(X, "nuc")


@program((3, 4))
def spectral_norm(np, X):
    return np.linalg.norm(X, 2)


@program((4, 3))
def pseudo_inverse(np, X):
    return np.linalg.pinv(X)


@program((3, 3))
def cholesky_of_spd(np, X):
    return np.linalg.cholesky(X @ X.T + np.eye(3))


@program((3, 3))
def logdet_via_cholesky(np, X):
    L = np.linalg.cholesky(X @ X.T + np.eye(3))
    return 2 * np.sum(np.log(np.diag(L)))


@program((4,))
def vdot_inner(np, x):
    y = np.arange(4.0)
    return np.vdot(x, y) + np.inner(x, x)


@program((4, 4))
def trace_offset(np, X):
    return np.trace(X, offset=1) + X.trace()


@program((3,))
def diag_scaling(np, d):
    A = _data(3, 3)
    return np.diag(d) @ A @ np.diag(d)


@program((4, 4))
def tril_triu_symmetrise(np, X):
    L = np.tril(X)
    return L + np.triu(L.T, 1)


@program((3, 3))
def expm_series(np, X):
    X = X / 4
    term = np.eye(3)
    result = np.eye(3)
    for k in range(1, 12):
        term = term @ X / k
        result = result + term
    return result


@program((3, 3))
def scipy_expm(np, X):
    return linalg(np).expm(X / 4)


@program((4, 3))
def qr_r_diagonal(np, X):
    Q, R = np.linalg.qr(X)
    return np.abs(np.diag(R))


@program((3, 3))
def matrix_sqrt_eigh(np, X):
    S = X @ X.T + np.eye(3)
    w, V = np.linalg.eigh(S)
    return V @ np.diag(np.sqrt(w)) @ V.T


@program((3, 3))
def general_eig_of_symmetric(np, X):
    S = X + X.T
    w = np.linalg.eigvals(S)
    return np.sort(w.real)


@program((2, 3, 3))
def batched_solve(np, A):
    b = np.ones((2, 3, 1))
    return np.linalg.solve(A + 3 * np.eye(3), b)


@program((2, 3, 3))
def batched_det(np, A):
    return np.linalg.det(A)


@program((2, 3, 3))
def batched_inv_matmul(np, A):
    return np.linalg.inv(A + 3 * np.eye(3)) @ A


@program((4, 3))
def gram_matrix(np, X):
    return X @ X.T


@program((4, 3))
def hat_matrix_trace(np, X):
    H = X @ np.linalg.inv(X.T @ X) @ X.T
    return np.trace(H @ np.diag(np.arange(4.0)))


@program((3, 3))
def matmul_chain_multi_dot(np, X):
    A, B = _data(3, 3), _data(3, 3, seed=1)
    return np.linalg.multi_dot([A, X, B, X])


@program((3, 3))
def swap_and_transpose(np, X):
    return np.swapaxes(X, 0, 1) @ X.transpose()


@program((3, 3))
def scipy_solve(np, X):
    return linalg(np).solve(X + 3 * np.eye(3), np.ones(3))


@program((3, 3))
def scipy_cho_solve(np, X):
    S = X @ X.T + np.eye(3)
    c = linalg(np).cho_factor(S)
    return linalg(np).cho_solve(c, np.arange(3.0))


# ---- signal processing ----------------------------------------------------------------------
@program((6,))
def convolve_full(np, x):
    return np.convolve(x, [1.0, 0.5, 0.25])


@program((6,))
def autocorrelation(np, x):
    x = x - x.mean()
    return np.correlate(x, x, mode="full")[len(x) - 1 :]


@program((8,))
def fft_power_spectrum(np, x):
    return np.abs(np.fft.fft(x)) ** 2


@program((8,))
def rfft_power(np, x):
    X = np.fft.rfft(x)
    return X.real**2 + X.imag**2


@program((8,))
def dft_real_matrix(np, x):
    n = np.arange(8)
    k = n[:, None]
    C, S = np.cos(2 * np.pi * k * n / 8), np.sin(2 * np.pi * k * n / 8)
    return (C @ x) ** 2 + (S @ x) ** 2


@program((8,))
def first_and_second_difference(np, x):
    return np.concatenate([np.diff(x), np.diff(x, n=2)])


@program((8,))
def numerical_gradient(np, y):
    return np.gradient(y, 0.5)


@program((8,))
def hann_window(np, x):
    return np.hanning(8) * x


@program((8,))
def hamming_window_energy(np, x):
    return np.sum((np.hamming(8) * x) ** 2)


@program((5,))
def interp_resample(np, y):
    xp = np.linspace(0, 1, 5)
    return np.interp(np.linspace(0.05, 0.95, 7), xp, y)


@program((6,), builds=True)
def iir_lowpass_list_append(np, x):
    a = 0.6
    out = [x[0]]
    for n in range(1, len(x)):
        out.append(a * out[-1] + (1 - a) * x[n])
    return np.array(out)


@program((6,))
def iir_lowpass_stack(np, x):
    a = 0.6
    out = [x[0]]
    for v in x[1:]:
        out.append(a * out[-1] + (1 - a) * v)
    return np.stack(out)


@program((5,))
def zero_padding(np, x):
    return np.pad(x, 2) * np.arange(9.0)


@program((5,))
def edge_padding(np, x):
    return np.pad(x, (1, 2), mode="edge")


@program((4,))
def upsample_repeat(np, x):
    return np.repeat(x, 2) * np.linspace(0, 1, 8)


@program((8,))
def downsample_stride(np, x):
    return x[::2] - x[1::2]


@program((8,))
def rms_and_energy(np, x):
    return np.sqrt(np.mean(x**2)) + np.sum(np.square(x))


@program((8,))
def total_variation(np, x):
    return np.sum(np.abs(np.diff(x)))


@program((8,))
def trapezoid_integral(np, y):
    return np.trapezoid(y, dx=0.1)


@program((8,))
def cumulative_integral(np, y):
    return np.cumsum(y) * 0.1


@program((6, 6))
def image_gradient_magnitude(np, img):
    gx = img[:, 1:] - img[:, :-1]
    gy = img[1:, :] - img[:-1, :]
    return np.sqrt(gx[:-1, :] ** 2 + gy[:, :-1] ** 2 + 1e-6)


@program((5, 5))
def conv2d_loops(np, img):
    k = np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])
    rows = []
    for i in range(3):
        row = []
        for j in range(3):
            row.append(np.sum(img[i : i + 3, j : j + 3] * k))
        rows.append(np.stack(row))
    return np.stack(rows)


@program((4, 4))
def flip_and_rotate(np, img):
    return np.fliplr(img) + np.flipud(img) + np.rot90(img)


@program((6,))
def sinc_filter(np, x):
    return np.sinc(x) * np.hanning(6)


@program((8,), builds=True)
def circular_shift_correlation(np, x):
    return np.array([np.dot(x, np.roll(x, k)) for k in range(4)])


@program((8,))
def circular_shift_correlation_stack(np, x):
    return np.stack([np.dot(x, np.roll(x, k)) for k in range(4)])


# ---- numerics -------------------------------------------------------------------------------
@program((4,), 0.5, 2.0)
def newton_sqrt(np, a):
    x = np.ones_like(a)
    for _ in range(6):
        x = 0.5 * (x + a / x)
    return x


@program((3, 3))
def power_iteration(np, X):
    S = X @ X.T + np.eye(3)
    v = np.ones(3)
    for _ in range(20):
        v = S @ v
        v = v / np.linalg.norm(v)
    return v @ S @ v


@program((3,))
def conjugate_gradient(np, b):
    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    x = np.zeros(3)
    r = b - A @ x
    p = r
    for _ in range(3):
        Ap = A @ p
        alpha = (r @ r) / (p @ Ap)
        x = x + alpha * p
        r_new = r - alpha * Ap
        p = r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    return x


@program((3,))
def jacobi_iteration(np, b):
    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    D = np.diag(A)
    R = A - np.diagflat(D)
    x = np.zeros_like(b)
    for _ in range(15):
        x = (b - R @ x) / D
    return x


@program((3,))
def gauss_seidel_inplace(np, b):
    A = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 1.0], [0.0, 1.0, 2.0]])
    x = np.zeros(3)
    for _ in range(5):
        for i in range(3):
            x[i] = (b[i] - A[i] @ x + A[i, i] * x[i]) / A[i, i]
    return x


@program((3, 3))
def condition_number(np, X):
    return np.linalg.cond(X + 3 * np.eye(3))


@program((4,))
def norm_orders(np, x):
    la = np.linalg
    return la.norm(x, 1) + la.norm(x, np.inf) + la.norm(x, 3) + la.norm(x, -np.inf)


@program((3, 4))
def matrix_norm_orders(np, X):
    return np.linalg.norm(X, 1) + np.linalg.norm(X, np.inf)


@program((4,))
def polyval_coefficients(np, c):
    return np.polyval(c, np.linspace(-1, 1, 5))


@program((5,))
def polyval_at_points(np, x):
    return np.polyval([1.0, -2.0, 0.5, 3.0], x)


@program((5,))
def horner_loop(np, x):
    coeffs = [2.0, -1.0, 0.5, 0.25]
    y = np.zeros_like(x)
    for c in coeffs:
        y = y * x + c
    return y


@program((4,))
def vandermonde_fit(np, c):
    x = np.linspace(0, 1, 6)
    return np.vander(x, 4) @ c


@program((5,))
def vandermonde_of_traced(np, x):
    return np.vander(x, 3).sum(axis=1)


@program((5,))
def chebyshev_eval(np, x):
    return np.polynomial.chebyshev.chebval(x, [1.0, 0.5, -0.3, 0.2])


@program((4,), builds=True)
def polynomial_class_eval(np, c):
    return np.polynomial.polynomial.polyval(np.linspace(0, 1, 5), c)


@program((4,))
def poly1d_eval(np, x):
    p = np.poly1d([1.0, 0.0, -2.0])
    return p(x)


@program((3,))
def fixed_point_iteration(np, c):
    x = np.zeros(3)
    for _ in range(10):
        x = 0.5 * np.cos(x) + c
    return x


@program((2,))
def rosenbrock(np, p):
    x, y = p
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


@program((5,))
def rosenbrock_nd(np, x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


@program((4,))
def finite_difference_laplacian_matrix(np, u):
    n = 4
    L = -2 * np.eye(n) + np.eye(n, k=1) + np.eye(n, k=-1)
    return u @ L @ u


@program((3,), 0.5, 2.0)
def secant_step(np, a):
    f = lambda x: x**3 - a  # noqa: E731
    x0, x1 = np.ones(3), 2 * np.ones(3)
    for _ in range(5):
        x0, x1 = x1, x1 - f(x1) * (x1 - x0) / (f(x1) - f(x0))
    return x1


@program((5,))
def linspace_traced_ends(np, ab):
    return np.linspace(ab[0], ab[1], 4)


@program((2,))
def linspace_traced_scalar_ends(np, ab):
    return np.sum(np.linspace(ab[0], ab[1] + 2, 5) ** 2)


# ---- ndarray methods -------------------------------------------------------------------------
@program((3, 4))
def method_chain_sum_mean(np, x):
    return x.sum(axis=0) * x.mean(axis=1).sum()


@program((3, 4))
def method_reshape_ravel(np, x):
    return x.reshape(-1)[::2] + x.ravel()[1::2]


@program((3, 4))
def method_flatten_fortran(np, x):
    return x.flatten("F") * np.arange(12.0)


@program((3, 4))
def method_dot(np, x):
    return x.dot(np.ones(4)).dot(np.arange(3.0))


@program((3, 4))
def method_max_min(np, x):
    return x.max() - x.min(axis=1)


@program((5,), 0.5, 1.5)
def method_prod(np, x):
    return x.prod()


@program((5,), 0.5, 1.5)
def method_cumprod_cumsum(np, x):
    return x.cumprod() + x.cumsum()


@program((3, 4))
def method_std_var(np, x):
    return x.std(axis=0) + x.var()


@program((6,))
def method_clip(np, x):
    return x.clip(-0.5, 0.5) ** 2


@program((1, 3, 1))
def method_squeeze(np, x):
    return x.squeeze() * np.arange(3.0)


@program((2, 3, 4))
def method_transpose_axes(np, x):
    return x.transpose(1, 0, 2).reshape(3, 8)


@program((3, 4))
def method_astype(np, x):
    return x.astype(np.float64) * 2


@program((3, 3))
def method_trace_diagonal(np, x):
    return x.trace() + x.diagonal() @ np.arange(3.0)


@program((4,))
def method_repeat_take(np, x):
    return x.repeat(2) + x.take([0, 0, 1, 1, 2, 2, 3, 3])


@program((6,))
def method_sort_copy(np, x):
    y = x.copy()
    y.sort()
    return y[-2:]


@program((6,))
def method_argsort_index(np, x):
    return x[x.argsort()][::-1]


@program((6,))
def method_argmax_index(np, x):
    return x[x.argmax()] * x[np.argmin(x)]


@program((6,))
def method_conj_real(np, x):
    return x.conj().real * 2


@program((3, 4))
def method_all_axes_sum(np, x):
    return x.sum(axis=(0, 1), keepdims=True) * x


@program((2, 3))
def method_T_and_matmul_operator(np, x):
    return (x.T @ x).flatten()


@program((3, 4))
def method_swapaxes_cumsum(np, x):
    return x.swapaxes(0, 1).cumsum(axis=1)


@program((6,))
def method_round_mix(np, x):
    return x - x.round(1) + x**2


@program((2, 3))
def method_tolist_sum(np, x):
    return sum(sum(row) for row in x.tolist())


@program((2, 3))
def method_item(np, x):
    return x * x[0, 0].item()


@program((6,))
def method_nonzero_index(np, x):
    idx = np.nonzero(np.array([1, 0, 1, 0, 0, 1]))
    return x[idx].sum()


# ---- in-place-looking idioms -----------------------------------------------------------------
@program((5,))
def augmented_assignments(np, x):
    y = x.copy()
    y *= 2
    y += 1
    y -= x.mean()
    y /= 3
    return y**2


@program((5,))
def accumulate_in_python_scalar(np, x):
    total = 0.0
    for i in range(len(x)):
        total += x[i] ** 2 * (i + 1)
    return total


@program((5,))
def accumulate_zeros_like(np, x):
    acc = np.zeros_like(x)
    for k in range(1, 4):
        acc += x**k / k
    return acc


@program((4,))
def buffer_item_assignment(np, x):
    out = np.zeros(4)
    for i in range(4):
        out[i] = x[i] ** 2
    return out


@program((4,))
def buffer_slice_assignment(np, x):
    out = np.zeros(6)
    out[1:5] = x
    return np.cumsum(out)


@program((4,))
def traced_item_assignment(np, x):
    y = x * 2
    y[0] = 0.0
    return y


@program((5,))
def out_keyword(np, x):
    out = np.empty(5)
    np.multiply(x, 3.0, out=out)
    return out


@program((5,))
def reassign_normalise(np, x):
    x = x - x.min()
    x = x / (x.max() + 1.0)
    return x


@program((3, 4))
def setitem_row_normalise(np, X):
    X = X.copy()
    for i in range(X.shape[0]):
        X[i] = X[i] / np.linalg.norm(X[i])
    return X


# ---- loops over rows, comprehensions --------------------------------------------------------
@program((4, 3))
def sum_over_rows_generator(np, X):
    w = np.array([0.5, -1.0, 2.0])
    return sum(np.dot(row, w) ** 2 for row in X)


@program((4, 3))
def stack_row_softmax(np, X):
    return np.stack([np.exp(r) / np.exp(r).sum() for r in X])


@program((4, 3), builds=True)
def array_of_row_norms(np, X):
    return np.array([np.sqrt(np.sum(r**2)) for r in X])


@program((4, 3))
def stack_row_norms(np, X):
    return np.stack([np.sqrt(np.sum(r**2)) for r in X])


@program((2, 4))
def zip_rows(np, XY):
    return sum(a * b for a, b in zip(XY[0], XY[1], strict=True))


@program((3, 3))
def enumerate_rows_weighted(np, X):
    total = 0
    for i, row in enumerate(X):
        total = total + (i + 1) * np.sum(row**2)
    return total


@program((3, 4))
def vstack_processed_rows(np, X):
    rows = [r - r.mean() for r in X]
    return np.vstack(rows)


@program((3, 4))
def hstack_columns(np, X):
    return np.hstack([X[:, :1] * 2, X[:, 1:] ** 2])


@program((4,))
def column_stack_features(np, x):
    return np.column_stack([x, x**2, np.sin(x)])


@program((4,))
def polynomial_features_comprehension(np, x):
    return np.stack([x**k for k in range(4)], axis=1)


@program((3, 3))
def list_of_columns_concatenate(np, X):
    cols = [X[:, j] * (j + 1) for j in range(3)]
    return np.concatenate(cols)


@program((3,))
def nested_loops_pairwise(np, x):
    s = 0.0
    for i in range(3):
        for j in range(3):
            s = s + np.exp(-((x[i] - x[j]) ** 2))
    return s


@program((4, 2))
def dstack_and_append(np, X):
    return np.append(np.dstack([X, X**2]).ravel(), X[0])


# ---- masks and np.where -------------------------------------------------------------------
@program((6,))
def boolean_mask_sum(np, x):
    return x[x > 0].sum()


@program((6,))
def constant_mask_index(np, x):
    mask = np.array([True, False, True, True, False, True])
    return x[mask] ** 2


@program((6,))
def where_piecewise(np, x):
    return np.where(x < 0, x**2, np.where(x < 0.5, x, 2 * x - 0.5))


@program((6,))
def where_with_scalar(np, x):
    return np.where(x > 0.2, 1.0, x)


@program((6,))
def masked_mean(np, x):
    mask = np.arange(6) % 2 == 0
    return np.sum(x * mask) / np.sum(mask)


@program((6,))
def sum_with_where_keyword(np, x):
    mask = np.arange(6) < 4
    return np.sum(x**2, where=mask)


@program((6,))
def select_piecewise(np, x):
    return np.select([x < -0.3, x > 0.3], [x**2, np.sin(x)], default=x)


@program((6,))
def heaviside_sign(np, x):
    return np.heaviside(x, 0.5) * x + np.sign(x) * x**2


@program((6,))
def nan_to_num_log(np, x):
    return np.nan_to_num(np.log(x), nan=0.0, neginf=-10.0)


@program((6,))
def extract_and_compress(np, x):
    cond = np.array([1, 0, 1, 0, 1, 1], dtype=bool)
    return np.compress(cond, x) * 2


@program((6,))
def isclose_mask(np, x):
    return np.where(np.isclose(x, 0.0, atol=1e-3), 0.0, x**3)


@program((6,))
def abs_fabs(np, x):
    return np.fabs(x) + np.abs(x) * np.fmax(x, 0.1) + np.fmin(x, -0.1)


# ---- sorting and order statistics ----------------------------------------------------------
@program((7,))
def sort_top_k(np, x):
    return np.sort(x)[-3:]


@program((7,))
def top_k_via_argsort(np, x):
    idx = np.argsort(x)[::-1][:3]
    return x[idx]


@program((7,))
def partition_kth(np, x):
    return np.partition(x, 3)[3]


@program((6,))
def max_min_functions(np, x):
    return np.max(x) - np.min(x) + np.amax(x**2)


@program((3, 4))
def argmin_take_along(np, x):
    idx = np.argmin(x, axis=1)
    return np.take_along_axis(x, idx[:, None], axis=1)[:, 0]


@program((6,))
def ranking_hinge(np, s):
    pos, neg = s[:3], s[3:]
    return np.sum(np.maximum(0, 1 - pos[:, None] + neg[None, :]))


@program((3, 4))
def sort_along_axis(np, x):
    return np.sort(x, axis=0)[0] + np.sort(x, axis=1)[:, -1].sum()


@program((6,))
def soft_rank_sigmoid(np, x):
    d = x[:, None] - x[None, :]
    return np.sum(1 / (1 + np.exp(-d / 0.1)), axis=1)


# ---- cumulative operations --------------------------------------------------------------------
@program((6,))
def running_maximum(np, x):
    return np.maximum.accumulate(x)


@program((6,))
def logcumsumexp(np, x):
    return np.logaddexp.accumulate(x)


@program((6,))
def add_accumulate(np, x):
    return np.add.accumulate(x) - np.cumsum(x[::-1])


@program((5,), 0.5, 1.5)
def cumulative_product_returns(np, r):
    return np.cumprod(1 + r * 0.1) - 1


@program((3, 4))
def cumsum_axis_normalise(np, x):
    c = np.cumsum(np.exp(x), axis=1)
    return c / c[:, -1:]


@program((6,))
def discounted_returns_loop(np, r):
    gamma = 0.9
    G = 0.0
    returns = []
    for reward in r[::-1]:
        G = reward + gamma * G
        returns.append(G)
    return np.stack(returns[::-1])


@program((6,))
def discounted_returns_matrix(np, r):
    gamma = 0.9
    idx = np.arange(6)
    D = np.triu(gamma ** (idx[None, :] - idx[:, None]).clip(0))
    return D @ r


# ---- distances and kernels -----------------------------------------------------------------
@program((4, 3))
def sqeuclidean_expansion(np, X):
    sq = np.sum(X**2, axis=1)
    return sq[:, None] + sq[None, :] - 2 * X @ X.T


@program((4, 3))
def manhattan_distance_matrix(np, X):
    return np.abs(X[:, None, :] - X[None, :, :]).sum(-1)


@program((4, 3))
def cosine_distance_matrix(np, X):
    Xn = X / np.linalg.norm(X, axis=1)[:, None]
    return 1 - Xn @ Xn.T


@program((3, 2))
def cross_distance_to_centres(np, X):
    C = np.array([[0.0, 0.0], [1.0, 1.0]])
    D = np.linalg.norm(X[:, np.newaxis, :] - C[np.newaxis, :, :], axis=2)
    return D.min(axis=1)


@program((4, 2))
def polynomial_kernel(np, X):
    return (X @ X.T + 1) ** 3


@program((4, 2))
def laplacian_kernel(np, X):
    return np.exp(-np.sum(np.abs(X[:, None] - X[None]), axis=-1))


@program((3, 2))
def matern32_kernel(np, X):
    d = np.sqrt(np.sum((X[:, None] - X[None]) ** 2, -1) + 1e-9)
    return (1 + np.sqrt(3) * d) * np.exp(-np.sqrt(3) * d)


@program((5,))
def gp_log_marginal_likelihood(np, y):
    x = np.linspace(0, 1, 5)
    K = np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / 0.3**2) + 0.1 * np.eye(5)
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y))
    return -0.5 * y @ alpha - np.sum(np.log(np.diag(L)))


@program((2,), 0.3, 1.5)
def gp_hyperparameters(np, theta):
    ell, sigma = theta
    x = np.linspace(0, 1, 4)
    y = np.sin(3 * x)
    K = sigma**2 * np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2 / ell**2) + 0.1 * np.eye(4)
    sign, logdet = np.linalg.slogdet(K)
    return -0.5 * y @ np.linalg.solve(K, y) - 0.5 * logdet


@program((4, 2))
def kmeans_soft_assign(np, X):
    C = np.array([[0.0, 0.0], [1.0, 0.5]])
    d2 = ((X[:, None, :] - C[None]) ** 2).sum(-1)
    w = np.exp(-d2) / np.exp(-d2).sum(axis=1, keepdims=True)
    return (w * d2).sum()


@program((3, 2))
def scipy_cdist(np, X):
    if np is numpy:
        return cdist(X, np.zeros((2, 2)) + 1.0)
    return np.sqrt(((X[:, None] - (np.zeros((2, 2)) + 1.0)[None]) ** 2).sum(-1))


# ---- array building from traced values -----------------------------------------------------
@program((2,), builds=True)
def array_from_scalars(np, x):
    a, b = x[0], x[1]
    return np.array([a * b, a + b, a - b])


@program((2,), builds=True)
def array_diag_by_hand(np, x):
    return np.array([[x[0], 0.0], [0.0, x[1]]]) @ np.array([1.0, 2.0])


@program((4,), builds=True)
def asarray_at_the_start(np, x):
    x = np.asarray(x, dtype=float)
    return np.sum(x**2)


@program((4,), builds=True)
def array_copy_of_input(np, x):
    y = np.array(x)
    return y * 2


@program((3,), builds=True)
def r_append_constant(np, x):
    return np.r_[x, 1.0] @ np.arange(4.0)


@program((3,), builds=True)
def c_design_matrix(np, x):
    return np.c_[x, x**2]


@program((3,), builds=True)
def mean_of_list(np, x):
    return np.mean([x, x + 2, x**2], axis=0)


@program((3,), builds=True)
def max_of_list(np, x):
    return np.max([x, -x], axis=0)


@program((3,), builds=True)
def sum_of_list_of_scalars(np, x):
    return np.sum([x[0] ** 2, x[1] * x[2]])


@program((2,), builds=True)
def vector_field_jacobian_style(np, p):
    x, y = p
    return np.array([x**2 - y, np.sin(x) * y])


@program((3,), builds=True)
def block_matrix(np, x):
    A = np.diag(x)
    return np.block([[A, np.eye(3)], [np.eye(3), A]]).sum(axis=0)


@program((3,), builds=True)
def float64_cast_scalar(np, x):
    return np.float64(x[0]) * x


# ---- escapes from NumPy --------------------------------------------------------------------
@program((3,))
def math_exp_scalar(np, x):
    return x * math.exp(x[0])


@program((3,))
def python_float_cast(np, x):
    return x * float(x.sum())


@program((3,))
def complex_constant(np, x):
    return np.abs(x * (1 + 2j))


@program((3,))
def branch_on_value(np, x):
    if x.sum() > 0:
        return x**2
    return -x


# ---- odds and ends ------------------------------------------------------------------------
@program((3,))
def meshgrid_function(np, c):
    gx, gy = np.meshgrid(np.linspace(0, 1, 3), np.linspace(0, 1, 2))
    return c[0] * gx + c[1] * gy**2 + c[2]


@program((2, 3))
def broadcast_to_and_expand(np, x):
    return np.broadcast_to(np.expand_dims(x, 0), (4, 2, 3)).sum(axis=0)


@program((2, 3))
def tile_and_atleast(np, x):
    return np.tile(x, (2, 1)) + np.atleast_2d(x[0])


@program((4,))
def mod_and_floor(np, x):
    return np.mod(x, 0.5) + x % 0.3 + np.floor(x)


@program((4,), 0.1, 2.0)
def log_variants(np, x):
    return np.log10(x) + np.log2(x) + np.exp2(x) + np.logaddexp2(x, 1.0)


@program((4,), -0.9, 0.9)
def inverse_trig(np, x):
    return np.arcsin(x) + np.arccos(x) + np.arctan(x) + np.arctanh(x) + np.arcsinh(x)


@program((4,), 1.1, 2.0)
def arccosh_cbrt(np, x):
    return np.arccosh(x) + np.cbrt(x) + np.reciprocal(x)


@program((4,))
def power_zero_exponent(np, x):
    return x**0.0 + x**1 + np.power(x, 2)


@program((4,))
def i0_bessel(np, x):
    return np.i0(x)


@program((3, 4))
def rollaxis_moveaxis(np, x):
    return np.moveaxis(x[None], 0, -1).squeeze(-1) + np.rollaxis(x[:, :, None], 2, 0)[0]


@program((6,))
def array_split_pieces(np, x):
    parts = np.array_split(x, 4)
    return np.concatenate([p * (k + 1) for k, p in enumerate(parts)])


@program((4, 4))
def hsplit_vsplit(np, x):
    left, right = np.hsplit(x, 2)
    top, bottom = np.vsplit(x, 2)
    return left.sum() * right.sum() + (top * bottom).sum()


@program((3, 3))
def triu_indices_upper_sum(np, x):
    iu = np.triu_indices(3)
    return np.sum(x[iu] ** 2)


@program((3, 3))
def fill_diagonal_copy(np, x):
    y = x.copy()
    np.fill_diagonal(y, 0.0)
    return y


@program((3, 3))
def diag_of_matrix_off_diag(np, x):
    return x - np.diag(np.diag(x))


@program((5,))
def unique_counts_weighting(np, x):
    labels = np.array([0, 1, 1, 2, 2])
    _, counts = np.unique(labels, return_counts=True)
    return x / counts[labels]


@program((5,))
def bincount_weights(np, x):
    labels = np.array([0, 1, 1, 2, 2])
    return np.bincount(labels, weights=x)


@program((5,))
def add_at_scatter(np, x):
    out = np.zeros(3)
    np.add.at(out, [0, 1, 1, 2, 2], x)
    return out


@program((6,))
def einsum_trace_and_outer(np, x):
    X = x.reshape(2, 3)
    return np.einsum("ij,kj->ik", X, X) + np.einsum("ii", X @ X.T)


@program((3, 4))
def allclose_guard(np, x):
    if np.allclose(x, 0):
        return x
    return x**2


@program((3,))
def any_all_counts(np, x):
    n = np.count_nonzero(np.array([1, 0, 2]))
    return x * n


@program((4,))
def float_power_and_sqrt(np, x):
    return np.float_power(np.abs(x) + 1, 1.5) + np.sqrt(np.abs(x) + 0.1)


@program((4,))
def clip_with_array_bounds(np, x):
    lo = np.array([-0.5, -0.2, 0.0, -1.0])
    return np.clip(x, lo, lo + 0.6)


@program((4,))
def diff_prepend(np, x):
    return np.diff(x, prepend=0.0)


@program((2, 3))
def concatenate_axis_none(np, x):
    return np.concatenate([x, x**2], axis=None)


@program((6,))
def ediff1d_sum(np, x):
    return np.ediff1d(x) ** 2


@program((3, 4))
def argmax_onehot_mask(np, x):
    onehot = np.eye(4)[np.argmax(x, axis=1)]
    return np.sum(x * onehot, axis=1)


@program((4,))
def trapz_x_traced(np, y):
    x = np.cumsum(np.ones(4))
    return np.trapezoid(y**2, x)


@program((3, 3))
def matrix_exponential_of_skew(np, X):
    S = X - X.T
    return linalg(np).expm(S) @ np.ones(3)


@program((4,))
def cross_entropy_with_logsumexp_keepdims(np, x):
    z = x.reshape(2, 2)
    return special(np).logsumexp(z, axis=1, keepdims=True) - z
