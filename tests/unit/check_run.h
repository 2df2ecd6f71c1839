/* check_run.h - the one main() body every Check test program shares. */
/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef POPGATE_CHECK_RUN_H
#define POPGATE_CHECK_RUN_H

#include <check.h>
#include <stdlib.h>

/* check_run - run SUITE, report, and give the exit status automake expects. */
static inline int check_run(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
