# www/local.mk - files of www/ to install and distribute.
