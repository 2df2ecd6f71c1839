# bench/local.mk - files of bench/ to install and distribute.
