/* cmd_import_relay.c - popgatectl import-relay: copy the authorizations of one backend into the configured one. */
/* SPDX-License-Identifier: GPL-2.0-or-later */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl/ctl.h"
#include "ctl/ctl_relay.h"

/* The unexpired entries of the source, gathered first: relaydb_foreach's callback must not write. */
struct gathered {
	struct relay_entry *v;
	size_t n, cap;
	time_t now;
	long long timeout;
	long expired;
	bool oom;
};

static int gather(const struct relay_entry *e, void *arg)
{
	struct gathered *g = arg;

	if (relay_entry_expired(e, g->now, g->timeout)) {
		g->expired++;
		return 0;
	}
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 256;
		struct relay_entry *v = realloc(g->v, cap * sizeof(*v));

		if (v == NULL) {
			g->oom = true;
			return 1;
		}
		g->v = v;
		g->cap = cap;
	}
	g->v[g->n++] = *e;
	return 0;
}

/* copy - put every gathered entry into DST; prints the summary. The exit status. */
static int copy(struct relaydb *dst, const struct gathered *g)
{
	long written = 0, kept = 0, failed = 0;

	for (size_t i = 0; i < g->n; i++) {
		int r = relaydb_put(dst, &g->v[i]);

		ctl_relay_progress();

		if (r < 0)
			failed++;
		else if (r > 0)
			written++;
		else
			kept++;
	}
	printf("%ld copied, %ld already held with a later login, %ld expired left out, %ld failed\n",
	       written, kept, g->expired, failed);
	return failed > 0 ? CTL_EX_TEMPFAIL : 0;
}

int ctl_import_relay(const struct config *cfg, int argc, char **argv)
{
	struct gathered g = { .now = time(NULL), .timeout = conf(cfg)->relay.timeout };
	struct relaydb *src = NULL, *dst = NULL;
	char err[1024];
	int rc;

	if (argc != 1 || (strcmp(argv[0], "bdb") != 0 && strcmp(argv[0], "postgresql") != 0)) {
		fprintf(stderr, "usage: popgatectl import-relay bdb|postgresql\n");
		return CTL_EX_USAGE;
	}
	if (strcmp(argv[0], conf(cfg)->relay.backend) == 0) {
		fprintf(stderr, "popgatectl import-relay: %s is relay.backend already; name the other one\n", argv[0]);
		return CTL_EX_USAGE;
	}
	if ((rc = ctl_relay_open(cfg, &dst)) != 0)
		return rc;
	if (relaydb_open_backend(cfg, argv[0], &src, err, sizeof(err)) < 0) {
		fprintf(stderr, "popgatectl: %s relay database: %s\n", argv[0], err);
		relaydb_close(&dst);
		return CTL_EX_TEMPFAIL;
	}
	if (relaydb_foreach(src, gather, &g) < 0 || g.oom) {
		fprintf(stderr, "popgatectl: cannot read the %s relay database\n", argv[0]);
		rc = CTL_EX_TEMPFAIL;
	} else {
		rc = copy(dst, &g);
		if (ctl_relay_changed(cfg, dst) < 0 && rc == 0)
			rc = 1;
	}
	free(g.v);
	relaydb_close(&src);
	relaydb_close(&dst);
	return rc;
}
