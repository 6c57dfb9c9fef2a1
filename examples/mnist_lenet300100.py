"""lenet300100 on mnist with switched fully connected layers, in the authors' setting.

    python examples/mnist_lenet300100.py --data-dir DIR --epochs 2
"""

from _paper import run

run("lenet300100", "mnist")
