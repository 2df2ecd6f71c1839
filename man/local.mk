# man/local.mk - files of man/ to install and distribute.
