/* config_int.h - what the config loader and the value parsers share inside src/common. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_CONFIG_INT_H
#define POPGATE_CONFIG_INT_H

#include "common/config.h"

/* One key's effective value. */
struct cfg_slot {
	const struct cfg_section *section;
	const struct cfg_key *key;
	char *text;   /* effective text (default or from the file) */
	int line;     /* line it was set on, 0 for a default */
	void *field;  /* the typed value: the key's field in the config's struct popgate_conf */
};

/* slot_is_text - whether S's field is the const char * of its text (strings, paths, enums). */
bool slot_is_text(const struct cfg_slot *s);

/* slot_parse - turn TEXT into the typed value of slot S, replacing what it held; why on failure. */
int slot_parse(struct cfg_slot *s, const char *text, const char **why);

/* slot_check - why the key's own check refuses S's parsed value, or NULL; *WORD is what it refused. */
const char *slot_check(const struct cfg_slot *s, const char **word);

/* slot_clear_value - free what S's typed value owns. */
void slot_clear_value(struct cfg_slot *s);

#endif
