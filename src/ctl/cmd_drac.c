/* cmd_drac.c - popgatectl import-dracd-allow: turn rpc.dracd's dracd.allow into relay.drac_clients. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "drac/drac.h"

/* sysexits.h: a file that does not read as dracd.allow, one that cannot be opened. */
#define CTL_EX_DATAERR 65
#define CTL_EX_NOINPUT 66

/* The value printed: every network of the file, comma separated. */
#define DRAC_CLIENTS_MAX 8192

/* Longest dracd.allow line read whole; a longer one is an error, reported once. */
#define DRAC_ALLOW_LINE_MAX 256

/* read_line - the next line of F into BUF without its newline: 1, 0 at the end, -1 too long (skipped). */
static int read_line(FILE *f, char *buf, size_t cap)
{
	size_t len;
	int c;

	if (fgets(buf, (int)cap, f) == NULL)
		return 0;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n') {
		buf[len - 1] = '\0';
		return 1;
	}
	if (feof(f))
		return 1;
	while ((c = getc(f)) != EOF && c != '\n')
		;
	return -1;
}

/* append - add NET to the comma separated OUT; false when it no longer fits. */
static bool append(char *out, size_t cap, size_t *used, const char *net)
{
	int n = snprintf(out + *used, cap - *used, "%s%s", *used > 0 ? ", " : "", net);

	if (n < 0 || (size_t)n >= cap - *used)
		return false;
	*used += (size_t)n;
	return true;
}

/* convert - every line of F (named PATH) into OUT; the number of bad lines, each reported. */
static int convert(FILE *f, const char *path, char *out, size_t cap, int *nets)
{
	char line[DRAC_ALLOW_LINE_MAX], net[64];
	const char *why = "";
	size_t used = 0;
	int lineno = 0, bad = 0, r;

	out[0] = '\0';
	while ((r = read_line(f, line, sizeof(line))) != 0) {
		lineno++;
		if (r > 0 && (r = drac_allow_line(line, net, sizeof(net), &why)) == 0)
			continue;
		if (r < 0 || !append(out, cap, &used, net)) {
			fprintf(stderr, "%s:%d: %s\n", path, lineno, r < 0 ? (why[0] ? why : "line too long") :
				"too many networks");
			bad++;
			why = "";
			continue;
		}
		(*nets)++;
	}
	return bad;
}

int ctl_import_dracd_allow(const struct config *cfg, int argc, char **argv)
{
	static char value[DRAC_CLIENTS_MAX];
	int bad, nets = 0;
	FILE *f;

	(void)cfg;
	if (argc != 1) {
		fprintf(stderr, "popgatectl import-dracd-allow: expected the path of dracd.allow\n");
		return CTL_EX_USAGE;
	}
	if ((f = fopen(argv[0], "r")) == NULL) {
		fprintf(stderr, "popgatectl import-dracd-allow: %s: %s\n", argv[0], strerror(errno));
		return CTL_EX_NOINPUT;
	}
	bad = convert(f, argv[0], value, sizeof(value), &nets);
	fclose(f);
	/* Nothing half converted: an unreadable line might have been the one network that matters. */
	if (bad > 0) {
		fprintf(stderr, "popgatectl import-dracd-allow: %d bad line%s, nothing printed\n", bad,
			bad == 1 ? "" : "s");
		return CTL_EX_DATAERR;
	}
	printf("; relay.drac_clients from %s (%d network%s); put it in the [relay] section\n", argv[0], nets,
	       nets == 1 ? "" : "s");
	printf("drac_clients = %s\n", value);
	return 0;
}
