"""ecg_lib: models, data, training and counting code behind the book *ImageNet Evolution*."""

__version__ = "0.1.0"
