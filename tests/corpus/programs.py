"""A corpus of small, ordinary NumPy programs (ML, statistics, matrix calculus, array
plumbing), each checked against JAX by tests/corpus/test_corpus.py.

Every program takes the NumPy module as its first parameter, named ``np``, so its body
is plain NumPy code that also runs on ``jax.numpy``. ``@program(shape, low, high)`` gives
the input's shape and the range its entries are drawn from.
"""

PROGRAMS = {}


def program(shape, low=-1.0, high=1.0):
    def register(f):
        assert f.__name__ not in PROGRAMS, f.__name__
        PROGRAMS[f.__name__] = (f, shape, low, high)
        return f

    return register


# ---- machine learning ----------------------------------------------------------------------
@program((3, 4))
def softmax_rows(np, x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@program((3, 4))
def log_softmax(np, x):
    return x - np.logaddexp.reduce(x, axis=1, keepdims=True)


@program((3, 4))
def cross_entropy(np, x):
    labels = np.array([1, 0, 3])
    logp = x - np.log(np.sum(np.exp(x), axis=1, keepdims=True))
    return -np.mean(logp[np.arange(3), labels])


@program((5,))
def logistic_loss(np, w):
    X = np.linspace(-1.0, 1.0, 20).reshape(4, 5)
    y = np.array([1.0, 0.0, 1.0, 1.0])
    p = 1.0 / (1.0 + np.exp(-(X @ w)))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


@program((4, 3))
def mlp_two_layers(np, W):
    x = np.array([0.5, -1.0, 2.0])
    h = np.tanh(W @ x)
    V = np.arange(8.0).reshape(2, 4) / 8.0
    return V @ np.maximum(h, 0.1 * h)


@program((6,))
def relu_network(np, x):
    W = np.cos(np.arange(24.0)).reshape(4, 6)
    return np.maximum(W @ x, 0.0) ** 2


@program((3, 4))
def layer_norm(np, x):
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + 1e-5)


@program((4, 3))
def batch_norm(np, x):
    return (x - x.mean(axis=0)) / x.std(axis=0)


@program((5,))
def huber_loss(np, r):
    delta = 0.5
    a = np.abs(r)
    return np.sum(np.where(a <= delta, 0.5 * r**2, delta * (a - 0.5 * delta)))


@program((5,))
def smooth_l1(np, r):
    return np.sum(np.sqrt(1.0 + r * r) - 1.0)


@program((6,))
def gelu_tanh(np, x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))


@program((6,))
def swish(np, x):
    return x / (1.0 + np.exp(-x))


@program((6,))
def softplus(np, x):
    return np.logaddexp(0.0, x)


@program((6,))
def elu(np, x):
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


@program((2, 3, 4))
def attention_scores(np, x):
    q, k = x[0], x[1]
    s = q @ k.T / np.sqrt(4.0)
    s = s - s.max(axis=1, keepdims=True)
    return np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)


@program((3, 4))
def attention_output(np, x):
    v = np.arange(12.0).reshape(3, 4) / 12.0
    w = np.exp(x @ x.T)
    w = w / w.sum(axis=-1, keepdims=True)
    return w @ v


@program((8,))
def conv1d_valid(np, x):
    kernel = np.array([0.25, 0.5, 0.25])
    return np.convolve(x, kernel, mode="valid") ** 2


@program((4, 4))
def conv2d_by_slices(np, img):
    k = np.array([[1.0, -1.0], [0.5, 2.0]])
    out = img[:-1, :-1] * k[0, 0] + img[:-1, 1:] * k[0, 1] + img[1:, :-1] * k[1, 0]
    return out + img[1:, 1:] * k[1, 1]


@program((4, 4))
def max_pool_2x2(np, img):
    return img.reshape(2, 2, 2, 2).max(axis=(1, 3))


@program((4, 4))
def avg_pool_2x2(np, img):
    return img.reshape(2, 2, 2, 2).mean(axis=(1, 3))


@program((5,))
def l2_regularised_least_squares(np, w):
    A = np.sin(np.arange(35.0)).reshape(7, 5)
    b = np.cos(np.arange(7.0))
    r = A @ w - b
    return r @ r + 0.1 * w @ w


@program((3,))
def gaussian_log_likelihood(np, theta):
    data = np.array([0.3, -0.2, 1.1, 0.7])
    mu, log_sigma = theta[0], theta[1]
    sigma = np.exp(log_sigma)
    return np.sum(-0.5 * ((data - mu) / sigma) ** 2 - log_sigma - 0.5 * np.log(2 * np.pi))


@program((4,))
def kl_divergence(np, logits):
    p = np.exp(logits) / np.sum(np.exp(logits))
    q = np.array([0.1, 0.2, 0.3, 0.4])
    return np.sum(p * (np.log(p) - np.log(q)))


@program((4,))
def entropy(np, logits):
    p = np.exp(logits - np.max(logits))
    p = p / p.sum()
    return -(p * np.log(p)).sum()


@program((3, 2))
def rbf_kernel(np, X):
    d2 = np.sum((X[:, None, :] - X[None, :, :]) ** 2, axis=-1)
    return np.exp(-0.5 * d2)


@program((4, 2))
def pairwise_distances(np, X):
    diff = X[:, None, :] - X[None, :, :]
    return np.sqrt(np.sum(diff**2, axis=-1) + 1e-3)


@program((3,))
def rnn_unrolled(np, h):
    W = np.array([[0.5, -0.2, 0.1], [0.3, 0.8, -0.5], [0.0, 0.2, 0.4]])
    for _ in range(4):
        h = np.tanh(W @ h + 0.1)
    return h


@program((4,))
def cosine_similarity(np, x):
    y = np.array([0.5, -1.0, 2.0, 0.1])
    return x @ y / (np.linalg.norm(x) * np.linalg.norm(y))


@program((6,))
def hinge_loss(np, s):
    y = np.array([1.0, -1.0, 1.0, 1.0, -1.0, -1.0])
    return np.sum(np.maximum(0.0, 1.5 - y * s))


@program((5,))
def focal_loss(np, z):
    p = 1 / (1 + np.exp(-z))
    return -np.sum((1 - p) ** 2 * np.log(p))


@program((2, 3))
def dropout_fixed_mask(np, x):
    mask = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    return x * mask / 0.5


@program((3, 4))
def embedding_lookup(np, E):
    tokens = np.array([2, 0, 2, 1])
    return E[tokens].sum(axis=0)


@program((5,))
def logsumexp_stable(np, x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


@program((4,))
def polynomial_regression(np, coeffs):
    t = np.linspace(0.0, 1.0, 6)
    y = np.sin(3 * t)
    return np.sum((np.polyval(coeffs, t) - y) ** 2)


# ---- statistics -------------------------------------------------------------------------------
@program((3, 5))
def covariance_matrix(np, X):
    return np.cov(X)


@program((2, 5))
def correlation(np, X):
    return np.corrcoef(X[0], X[1])


@program((6,))
def zscore(np, x):
    return (x - np.mean(x)) / np.std(x)


@program((7,))
def median_absolute_deviation(np, x):
    return np.median(np.abs(x - np.median(x)))


@program((3, 4))
def weighted_average(np, x):
    return np.average(x, axis=1, weights=np.array([1.0, 2.0, 3.0, 4.0]))


@program((6,))
def sample_variance(np, x):
    return np.var(x, ddof=1)


@program((6,))
def moving_average(np, x):
    c = np.cumsum(x)
    return (c[3:] - c[:-3]) / 3.0


@program((6,))
def finite_differences(np, x):
    return np.diff(x, n=2) + np.diff(x)[1:]


@program((6,))
def trapezoid_area(np, y):
    return np.trapezoid(y * y, dx=0.5)


@program((5,), 0.5, 2.0)
def geometric_mean(np, x):
    return np.exp(np.mean(np.log(x)))


@program((6,))
def harmonic_mean(np, x):
    return len(x) / np.sum(1.0 / (x * x + 1.0))


@program((4,))
def ptp_range(np, x):
    return np.ptp(x * np.array([1.0, -2.0, 0.5, 3.0]))


@program((3, 4))
def nan_safe_mean(np, x):
    nans = np.array([[0.0, np.nan, 0.0, 0.0], [0.0, 0.0, 0.0, np.nan], [0.0] * 4])
    return np.nanmean(x + nans, axis=1)


@program((6,))
def quantile_by_sort(np, x):
    s = np.sort(x)
    return 0.75 * s[4] + 0.25 * s[3]


# ---- matrix calculus --------------------------------------------------------------------------
@program((3, 3))
def trace_of_product(np, A):
    B = np.arange(9.0).reshape(3, 3)
    return np.trace(A @ B @ A.T)


@program((3, 3))
def log_det_spd(np, A):
    return np.linalg.slogdet(A @ A.T + np.eye(3))[1]


@program((3, 3))
def det_of_matrix(np, A):
    return np.linalg.det(A + 2 * np.eye(3))


@program((3, 3))
def inverse_trace(np, A):
    return np.trace(np.linalg.inv(A @ A.T + np.eye(3)))


@program((3, 3))
def solve_system(np, A):
    b = np.array([1.0, 2.0, 3.0])
    return np.linalg.solve(A + 3 * np.eye(3), b)


@program((2, 3, 3))
def batched_solve(np, A):
    b = np.ones((2, 3, 2))
    return np.linalg.solve(A + 3 * np.eye(3), b)


@program((2, 3, 3))
def batched_inverse(np, A):
    return np.linalg.inv(A + 3 * np.eye(3))


@program((2, 3, 3))
def batched_det(np, A):
    return np.linalg.det(A + 2 * np.eye(3))


@program((3, 3))
def cholesky_factor(np, A):
    return np.linalg.cholesky(A @ A.T + np.eye(3))


@program((3, 3))
def cholesky_symmetrised_with_triangles(np, A):
    S = np.tril(A) + np.tril(A, -1).T
    return np.linalg.cholesky(S @ S + 3 * np.eye(3))


@program((3, 3))
def eigenvalues_symmetric(np, A):
    return np.linalg.eigvalsh(A + A.T)


@program((3, 3))
def eigenvectors_symmetric(np, A):
    w, V = np.linalg.eigh(A + A.T + np.diag(np.array([0.0, 3.0, 6.0])))
    return V * np.sign(V[0])


@program((4, 3))
def singular_values(np, A):
    return np.linalg.svd(A, compute_uv=False)


@program((4, 3))
def svd_reconstruction(np, A):
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    return (U * s) @ Vt


@program((4, 3))
def svd_left_vectors(np, A):
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    return U * np.sign(U[0])


@program((3, 4))
def nuclear_norm(np, A):
    return np.linalg.norm(A, "nuc")


@program((3, 4))
def spectral_norm(np, A):
    return np.linalg.norm(A, 2)


@program((3, 4))
def frobenius_norm(np, A):
    return np.linalg.norm(A)


@program((3, 4))
def pseudo_inverse(np, A):
    return np.linalg.pinv(A)


@program((3, 3))
def matrix_cube(np, A):
    return np.linalg.matrix_power(A, 3)


@program((3, 3))
def matrix_exponential_series(np, A):
    term, total = np.eye(3), np.eye(3)
    for k in range(1, 8):
        term = term @ A / k
        total = total + term
    return total


@program((3,))
def quadratic_form(np, x):
    A = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]])
    return x @ A @ x


@program((2, 3))
def kronecker(np, A):
    return np.kron(A, np.array([[1.0, 2.0], [0.0, 1.0]]))


@program((3,))
def cross_product(np, a):
    return np.cross(a, np.array([0.3, -1.0, 2.0]))


@program((3, 4))
def vec_column_major(np, A):
    return A.flatten("F") * np.arange(12.0)


@program((3, 4))
def gram_matrix(np, A):
    return A.T @ A


@program((3, 4))
def einsum_bilinear(np, A):
    return np.einsum("ij,kj,k->i", A, A, np.array([1.0, 0.5, -1.0]))


@program((3, 3))
def hadamard_and_trace(np, A):
    return np.sum(np.diag(A * A.T))


@program((4,))
def outer_product_norm(np, x):
    return np.linalg.norm(np.outer(x, x) - np.eye(4))


@program((3, 3))
def multi_dot_chain(np, A):
    return np.linalg.multi_dot([A, A.T, A])


@program((3, 4))
def matrix_one_norm(np, A):
    return np.linalg.norm(A, 1) + np.linalg.norm(A, np.inf)


@program((3, 3))
def inverse_via_solve(np, A):
    return np.linalg.solve(A + 3 * np.eye(3), np.eye(3))


# ---- array plumbing --------------------------------------------------------------------------
@program((3, 4))
def stack_and_split(np, x):
    parts = np.split(x, 2, axis=1)
    return np.stack([parts[1], parts[0] * 2.0])


@program((3, 4))
def vstack_hstack(np, x):
    return np.hstack([np.vstack([x, x[:1]]), np.ones((4, 1))])


@program((6,))
def array_split_uneven(np, x):
    a, b, c, d = np.array_split(x, 4)
    return np.concatenate([d, c, b * a[0], a])


@program((3, 4))
def column_stack_rows(np, x):
    return np.column_stack([x[0], x[1] ** 2, x[2]])


@program((2, 3))
def tile_and_repeat(np, x):
    return np.tile(x, (2, 1)) + x.repeat(2, axis=0)


@program((3, 4))
def flips_and_rotations(np, x):
    return np.rot90(x) + np.fliplr(np.flipud(x)).T


@program((3, 4))
def roll_rows(np, x):
    return np.roll(x, 1, axis=0) - np.roll(x, -1, axis=1)


@program((3, 4))
def padding(np, x):
    return np.pad(x, ((1, 1), (0, 2)))


@program((3, 4))
def triangular_parts(np, x):
    return np.triu(x, 1) - np.tril(x, -1)


@program((3, 4))
def transpose_and_reshape(np, x):
    return x.T.reshape(2, 6).sum(axis=0)


@program((2, 3, 4))
def moveaxis_and_swap(np, x):
    return np.moveaxis(x, 0, -1).swapaxes(0, 1)


@program((3, 4))
def fancy_indexing(np, x):
    return x[[2, 0, 2], [1, 3, 1]] * x[1:, ::2].sum()


@program((3, 4))
def boolean_mask(np, x):
    mask = np.array([[True, False, True, False]] * 3)
    return x[mask] ** 2


@program((3, 4))
def take_along(np, x):
    idx = np.argsort(x, axis=1)
    return np.take_along_axis(x, idx, axis=1)


@program((6,))
def sort_descending(np, x):
    return np.sort(x)[::-1] * np.arange(6.0)


@program((3, 4))
def where_select(np, x):
    return np.select([x > 0.5, x < -0.5], [x**2, -x], 0.1 * x)


@program((3, 4))
def clip_values(np, x):
    return np.clip(x, -0.5, 0.5) + x.clip(min=0.0)


@program((6,))
def cumulative_products(np, x):
    return np.cumprod(1.0 + 0.1 * x)


@program((3, 4))
def expand_and_broadcast(np, x):
    return np.broadcast_to(np.expand_dims(x.sum(axis=0), 0), (3, 4)) * x


@program((4,))
def meshgrid_surface(np, x):
    X, Y = np.meshgrid(x, x[:3])
    return np.sin(X) * np.cos(Y)


@program((3, 4))
def block_matrix(np, x):
    return np.block([[x, np.zeros((3, 2))], [np.ones((1, 4)), x[:1, :2]]])


@program((4,))
def vandermonde(np, x):
    return np.vander(x, 3) @ np.array([1.0, -2.0, 0.5])


@program((3, 4))
def atleast_and_squeeze(np, x):
    return np.squeeze(np.atleast_3d(x[0])) * 2.0


@program((3, 4))
def diagonal_extraction(np, x):
    return x.diagonal(1) + np.diagonal(x)


@program((4,))
def diag_matrix(np, x):
    return np.diag(x) @ np.diag(x[::-1])


# ---- elementwise and methods --------------------------------------------------------------
@program((6,))
def trig_identities(np, x):
    return np.sin(x) ** 2 + np.cos(x) ** 2 * np.tan(0.5 * x)


@program((6,), 0.5, 2.0)
def logs_and_powers(np, x):
    return np.log2(x) + np.log10(x) * np.exp2(x) + np.float_power(x, 1.5)


@program((6,), -0.9, 0.9)
def inverse_trig(np, x):
    return np.arcsin(x) + np.arccos(x) * np.arctan(x) + np.arctanh(x)


@program((6,))
def hyperbolic(np, x):
    return np.sinh(x) * np.cosh(x) + np.arcsinh(x)


@program((6,))
def sinc_values(np, x):
    return np.sinc(x)


@program((6,))
def degrees_radians(np, x):
    return np.radians(np.degrees(x) * 2.0) + np.deg2rad(x)


@program((6,))
def hypot_and_arctan2(np, x):
    return np.hypot(x, 2.0) + np.arctan2(x, 1.5)


@program((3, 4))
def methods_reductions(np, x):
    return x.sum() + x.mean(axis=0).prod() + x.max() - x.min(axis=1).sum()


@program((3, 4))
def methods_statistics(np, x):
    return x.var(axis=0) + x.std(axis=1, keepdims=True).T[0, :1]


@program((3, 4))
def methods_cumulative(np, x):
    return x.cumsum(axis=1) * x.cumprod(axis=0)


@program((3, 4))
def methods_shape(np, x):
    return x.T.ravel().reshape(4, 3).transpose(1, 0).flatten()


@program((3, 4))
def methods_take_and_repeat(np, x):
    return x.take(np.array([0, 0, 5])) + x.repeat(2)[:3]


@program((3, 3))
def methods_trace_and_dot(np, x):
    return x.trace() * x.dot(x).sum()


@program((6,))
def integer_powers(np, x):
    return x**3 - 2 * x**2 + x**0 + x**1


@program((6,))
def maximum_minimum(np, x):
    return np.maximum(x, 0.2) - np.minimum(x, -0.2) + np.fmax(x, 0.0)


@program((6,), 0.5, 2.0)
def modulo(np, x):
    return np.mod(3.0 * x, 1.0) + x % 0.7


@program((6,))
def nan_to_num_of_log(np, x):
    return np.nan_to_num(np.log(np.abs(x) + 0.1), posinf=1.0)


@program((6,))
def rounding_is_constant(np, x):
    return x * np.round(x, 1) + np.floor(x) * x


@program((6,))
def absolute_value(np, x):
    return np.abs(x) + np.fabs(2 * x)


@program((6,))
def logaddexp_pair(np, x):
    return np.logaddexp(x, -x) + np.logaddexp2(x, 0.5)


@program((6,))
def expm1_log1p(np, x):
    return np.expm1(x) * np.log1p(x * x)


@program((6,), 0.5, 2.0)
def cbrt_and_sqrt(np, x):
    return np.cbrt(x) + np.sqrt(x) * np.reciprocal(x)


@program((3, 4))
def linspace_between_rows(np, x):
    return np.linspace(x[0], x[1], 5)


# ---- order statistics, sampled data, factorisations, polynomials (issue 12's last rules) ----
@program((3, 7))
def interquartile_range(np, x):
    q1, q3 = np.percentile(x, np.asarray([25, 75]), axis=1)  # JAX takes no lists
    return q3 - q1


@program((9,))
def winsorized_mean(np, x):
    low, high = np.quantile(x, np.asarray([0.1, 0.9]))
    return np.mean(np.clip(x, low, high))


@program((3, 5))
def nan_robust_median(np, x):
    nans = np.array([[0.0, np.nan, 0.0, 0.0, 0.0], [0.0] * 5, [np.nan, 0.0, np.nan, 0.0, 0.0]])
    return np.nanmedian(x + nans, axis=1) + np.nanpercentile(x + nans, 60, axis=1)


@program((6,), -2.0, 2.0)
def lookup_table(np, x):
    grid = np.array([-2.0, -1.0, 0.0, 0.5, 2.0])
    values = np.array([0.0, 1.0, 0.5, -1.0, 2.0])
    return np.interp(x, grid, values, left=0.0, right=2.0)


@program((5,))
def interpolated_curve(np, y):
    return np.interp(np.linspace(0.0, 4.0, 9), np.arange(5.0), y)


@program((4, 6))
def image_gradient_magnitude(np, img):
    gy, gx = np.gradient(img)
    return np.sqrt(gx**2 + gy**2 + 1e-3)


@program((8,))
def finite_difference_velocity(np, x):
    t = np.array([0.0, 0.1, 0.3, 0.4, 0.7, 0.8, 1.0, 1.5])
    return np.gradient(x, t)


@program((5, 3))
def least_squares_by_qr(np, A):
    b = np.array([1.0, -1.0, 2.0, 0.5, 0.0])
    Q, R = np.linalg.qr(A)
    return np.linalg.solve(R, Q.T @ b)


@program((5, 3))
def least_squares_by_lstsq(np, A):
    b = np.array([1.0, -1.0, 2.0, 0.5, 0.0])
    x, residuals, rank, s = np.linalg.lstsq(A, b, rcond=None)
    return np.concatenate([x, residuals, s])


@program((3, 3))
def condition_number(np, A):
    return np.linalg.cond(A + 3.0 * np.eye(3))


@program((7,))
def quadratic_fit(np, y):
    t = np.linspace(-1.0, 1.0, 7)
    coefficients = np.polyfit(t, y, 2)
    return np.polyval(np.polyder(coefficients), 0.3)


@program((3, 4))
def insert_and_delete_columns(np, x):
    widened = np.insert(x, 2, x[:, 0] * x[:, 1], axis=1)
    return np.delete(widened, 0, axis=1)


@program((3, 4))
def choose_and_compress(np, x):
    picked = np.choose(np.array([2, 0, 1, 2]), [x[0], x[1], x[2]])
    return np.compress(np.array([True, False, True, True]), picked * x[0])


@program((6,), -3.0, 3.0)
def fractional_parts(np, x):
    fraction, whole = np.modf(x)
    quotient, remainder = np.divmod(x, 0.7)
    return fraction * whole + remainder + np.copysign(x, -1.0) + np.ldexp(x, 2)


@program((2,), 0.5, 2.0)
def log_and_geometric_grids(np, ends):
    return np.concatenate([np.logspace(ends[0], ends[1], 4), np.geomspace(ends[0], ends[1], 3)])
