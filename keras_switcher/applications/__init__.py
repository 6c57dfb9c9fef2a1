"""Model builders with switched fully connected heads."""

from keras_switcher.applications.lenet import LeNet5, LeNet300100
from keras_switcher.applications.mobilenet import MobileNet
from keras_switcher.applications.resnet import ResNet18, ResNet34
from keras_switcher.applications.vgg import VGG16
