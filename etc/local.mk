# etc/local.mk - files of etc/ to install and distribute.
