/* config_checks.c - refuse at load the popgate.conf values that parse but would break every session. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

/*
 * Why here and not where the values are used: a value such as auth.system_mailbox = /var/mail/%u
 * passed `popgated -t` and a reload, and then every login failed; smtp.relay_domains = net made
 * every .net address a relay domain. Checked with the registry, such a value is refused as
 * FILE:LINE with status 78, and a reload keeps the running configuration.
 */
#include <stdlib.h>
#include <string.h>

#include "common/config.h"
#include "common/config_int.h"
#include "common/config_keys.h"
#include "common/mailbox_spec.h"

/* RFC 1035 2.3.4: 63 octets a label; 253 characters a name written without its final dot. */
#define LABEL_MAX 63
#define NAME_MAX_LEN 253
/* RFC 2449 6.7 gives EXPIRE days as 1*DIGIT; nine keep the CAPA line short and the number an int. */
#define EXPIRE_DIGITS_MAX 9

static bool ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

/* label_check - why the LEN characters at P are not a host name label, or NULL. */
static const char *label_check(const char *p, size_t len)
{
	if (len == 0)
		return "empty label (two dots in a row, or a dot at an end)";
	if (len > LABEL_MAX)
		return "label longer than 63 characters";
	for (size_t i = 0; i < len; i++)
		if (!ldh(p[i]))
			return (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? "control character in a host name" :
			       p[i] == ' ' || p[i] == '\t' ? "space in a host name" :
			       "only letters, digits, '-' and '.' may make a host name";
	if (p[0] == '-' || p[len - 1] == '-')
		return "a label may not start or end with '-'";
	return NULL;
}

const char *cfg_hostname_check(const char *name, int min_labels)
{
	const char *p = name, *why, *last = name;
	size_t len = strlen(name);
	int labels = 0;

	if (len == 0)
		return "empty host name";
	if (len > NAME_MAX_LEN)
		return "host name longer than 253 characters";
	for (;;) {
		size_t n = strcspn(p, ".");
		if ((why = label_check(p, n)) != NULL)
			return why;
		labels++;
		last = p;
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	if (strspn(last, "0123456789") == strlen(last))
		return "an address, not a host name (a top-level domain is never all digits)";
	if (labels < min_labels)
		return "not a domain of two labels or more (a top-level domain alone takes in every domain under it)";
	return NULL;
}

const char *cfg_check_hostname(const char *value)
{
	return value[0] == '\0' ? NULL : cfg_hostname_check(value, 1);
}

/* cfg_check_domain - a relay domain: written ".example.net" or "example.net." it means the same. */
const char *cfg_check_domain(const char *value)
{
	char name[NAME_MAX_LEN + 2];
	size_t len;

	if (value[0] == '[')
		return "an address literal is never a relay domain";
	if (value[0] == '.')
		value++;
	len = strlen(value);
	if (len > 0 && value[len - 1] == '.')
		len--;
	if (len >= sizeof(name))
		return "host name longer than 253 characters";
	memcpy(name, value, len);
	name[len] = '\0';
	return cfg_hostname_check(name, 2);
}

/* cfg_check_mailbox - the template mailbox_spec_expand fills in for each system user. */
const char *cfg_check_mailbox(const char *value)
{
	return mailbox_spec_check_template(value);
}

/* cfg_check_expire - "NEVER" or a number of days, optionally " USER" (RFC 2449 6.7). */
const char *cfg_check_expire(const char *value)
{
	size_t n = strspn(value, "0123456789");

	if (value[0] == '\0')
		return NULL;
	if (strncmp(value, "NEVER", 5) == 0)
		n = 5;
	else if (n == 0 || n > EXPIRE_DIGITS_MAX)
		return "expected NEVER or a number of days (RFC 2449), optionally followed by USER";
	if (value[n] == '\0' || strcmp(value + n, " USER") == 0)
		return NULL;
	return "expected NEVER or a number of days (RFC 2449), optionally followed by USER";
}

/* slot_check - the key's own check of S's value (each word of a list); the word refused in *WORD. */
const char *slot_check(const struct cfg_slot *s, const char **word)
{
	const struct str_list *l = s->field;
	const char *why;

	*word = s->text;
	if (s->key->check == NULL)
		return NULL;
	if (s->key->type != CFG_LIST)
		return s->key->check(s->text);
	for (size_t i = 0; i < l->n; i++)
		if ((why = s->key->check(l->v[i])) != NULL) {
			*word = l->v[i];
			return why;
		}
	return NULL;
}

long long cfg_parse_millis(const char *text)
{
	char *end;
	long long n;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	n = strtoll(text, &end, 10);
	if (strcmp(end, "s") == 0)
		n = n <= 60 ? n * 1000 : -1;
	else if (strcmp(end, "ms") != 0 && end[0] != '\0')
		return -1;
	return n >= 1 && n <= 60000 ? n : -1;
}

const char *cfg_check_store_timeout(const char *value)
{
	return cfg_parse_millis(value) < 0 ? "not a time from 1ms to 60s, e.g. 200ms or 2s" : NULL;
}
