"""DVC stages of the IMDB sentiment pipeline; each module runs as `python -m stages.<name>`."""

import os

# TensorFlow's C++ start-up chatter (CUDA probing, CPU feature notes) buries the stage logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
