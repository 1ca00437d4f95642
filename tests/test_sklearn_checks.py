"""scikit-learn's estimator check suite on a tiny DCGANEstimator."""

from imblearn.utils.estimator_checks import parametrize_with_checks as imblearn_checks
from sklearn.utils.estimator_checks import parametrize_with_checks

from skgan import SyntheticAugmenter
from tests._tiny import tiny_gan

# No check is expected to fail: an empty mapping, kept so that a future xfail
# has an obvious place and must come with its reason.
EXPECTED_FAILED_CHECKS: dict[str, str] = {}


# image_shape=(1, -1): the checks feed any number of features, read as a strip.
@parametrize_with_checks(
    [
        tiny_gan(image_shape=(1, -1)),
        SyntheticAugmenter(estimator=tiny_gan(image_shape=(1, -1)), random_state=0),
        SyntheticAugmenter(
            estimator=tiny_gan(image_shape=(1, -1)), synthetic_share=0.5, random_state=0
        ),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


# imbalanced-learn's sampler checks (fit_resample contract, dtypes, strings, pandas).
@imblearn_checks(
    [
        SyntheticAugmenter(estimator=tiny_gan(image_shape=(1, -1)), random_state=0),
        SyntheticAugmenter(
            estimator=tiny_gan(image_shape=(1, -1)), synthetic_share=0.5, random_state=0
        ),
    ]
)
def test_imblearn_compatible_sampler(estimator, check):
    check(estimator)
