"""scikit-learn's estimator check suite on a tiny DCGANEstimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from tests._tiny import tiny_gan

# No check is expected to fail: an empty mapping, kept so that a future xfail
# has an obvious place and must come with its reason.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


# image_shape=(1, -1): the checks feed any number of features, read as a strip.
@parametrize_with_checks(
    [tiny_gan(image_shape=(1, -1))],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
