"""Deployment: plain Keras models and TFLite files from switched models."""

from keras_switcher.export.litert import (
    QUANTIZATIONS,
    check_convertible_backend,
    format_export_report,
    load_interpreter,
    run_tflite,
    to_tflite,
)
from keras_switcher.export.stripping import strip
