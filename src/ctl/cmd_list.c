/* cmd_list.c - popgatectl list: the relay authorizations as an aligned table or as JSON. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/ctl_relay.h"

/* The entries gathered before printing, so the table can be aligned. */
struct entries {
	struct relay_entry *v;
	size_t n, cap;
	bool oom;
};

static int collect(const struct relay_entry *e, void *arg)
{
	struct entries *es = arg;

	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 256;
		struct relay_entry *v = reallocarray(es->v, cap, sizeof(*v));

		if (v == NULL) {
			es->oom = true;
			return 1;
		}
		es->v = v;
		es->cap = cap;
	}
	es->v[es->n++] = *e;
	return 0;
}

/* json_string - E's text as a JSON string: quotes, backslashes and controls escaped. */
static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void print_json(FILE *out, const struct entries *es, time_t now, long long timeout)
{
	fputs("[", out);
	for (size_t i = 0; i < es->n; i++) {
		const struct relay_entry *e = &es->v[i];

		fputs(i == 0 ? "\n  {" : ",\n  {", out);
		fputs("\"ip\": ", out);
		json_string(out, e->ip);
		fputs(", \"user\": ", out);
		json_string(out, e->user);
		fputs(", \"proto\": ", out);
		json_string(out, e->proto);
		fputs(", \"node\": ", out);
		json_string(out, e->node);
		fprintf(out, ", \"first\": %lld, \"last\": %lld, \"expires\": %lld, \"logins\": %u, \"expired\": %s}",
			(long long)e->first, (long long)e->last, (long long)e->expires, e->logins,
			relay_entry_expired(e, now, timeout) ? "true" : "false");
	}
	fputs(es->n > 0 ? "\n]\n" : "]\n", out);
}

/* The table's columns; widths grow to the longest cell. */
enum { COL_IP, COL_USER, COL_PROTO, COL_LOGINS, COL_FIRST, COL_LAST, COL_EXPIRES, COL_LEFT, COL_NODE, NCOLS };
static const char *const headers[NCOLS] = {
	"IP", "USER", "PROTO", "LOGINS", "FIRST", "LAST", "EXPIRES", "LEFT", "NODE",
};

static void row_cells(const struct relay_entry *e, time_t now, long long timeout, char cells[NCOLS][64])
{
	snprintf(cells[COL_IP], 64, "%s", e->ip);
	snprintf(cells[COL_USER], 64, "%.63s", e->user[0] != '\0' ? e->user : "-");
	snprintf(cells[COL_PROTO], 64, "%s", e->proto);
	snprintf(cells[COL_LOGINS], 64, "%u", e->logins);
	ctl_format_time(e->first, cells[COL_FIRST], 64);
	ctl_format_time(e->last, cells[COL_LAST], 64);
	ctl_format_time(e->expires, cells[COL_EXPIRES], 64);
	if (relay_entry_expired(e, now, timeout))
		snprintf(cells[COL_LEFT], 64, "expired");
	else
		ctl_format_left(e->expires, now, cells[COL_LEFT], 64);
	snprintf(cells[COL_NODE], 64, "%.63s", e->node[0] != '\0' ? e->node : "-");
}

static void print_row(FILE *out, char cells[NCOLS][64], const size_t width[NCOLS])
{
	for (int c = 0; c < NCOLS; c++) {
		if (c == NCOLS - 1)
			fprintf(out, "%s\n", cells[c]);
		else if (c == COL_LOGINS)
			fprintf(out, "%*s  ", (int)width[c], cells[c]);
		else
			fprintf(out, "%-*s  ", (int)width[c], cells[c]);
	}
}

static void print_table(FILE *out, const struct entries *es, time_t now, long long timeout)
{
	size_t width[NCOLS];
	char cells[NCOLS][64];

	for (int c = 0; c < NCOLS; c++) {
		width[c] = strlen(headers[c]);
		snprintf(cells[c], sizeof(cells[c]), "%s", headers[c]);
	}
	for (size_t i = 0; i < es->n; i++) {
		char row[NCOLS][64];

		row_cells(&es->v[i], now, timeout, row);
		for (int c = 0; c < NCOLS; c++)
			if (strlen(row[c]) > width[c])
				width[c] = strlen(row[c]);
	}
	print_row(out, cells, width);
	for (size_t i = 0; i < es->n; i++) {
		row_cells(&es->v[i], now, timeout, cells);
		print_row(out, cells, width);
	}
}

int ctl_list(const struct config *cfg, int argc, char **argv)
{
	struct entries es = { NULL, 0, 0, false };
	struct relaydb *db = NULL;
	bool json = false;
	int rc;

	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr, "popgatectl list: unknown argument %s\n", argv[i]);
			return CTL_EX_USAGE;
		}
		json = true;
	}
	if ((rc = ctl_relay_open(cfg, &db)) != 0)
		return rc;
	if (relaydb_foreach(db, collect, &es) < 0 || es.oom) {
		fprintf(stderr, "popgatectl list: cannot read the relay database\n");
		rc = CTL_EX_TEMPFAIL;
	} else if (json) {
		print_json(stdout, &es, time(NULL), conf(cfg)->relay.timeout);
	} else {
		print_table(stdout, &es, time(NULL), conf(cfg)->relay.timeout);
	}
	free(es.v);
	relaydb_close(&db);
	return rc;
}
