/* session_wire.h - the fixed-size record a session writes to the master's report pipe. */
#ifndef POPGATE_SESSION_WIRE_H
#define POPGATE_SESSION_WIRE_H

#include <stdint.h>
#include <sys/types.h>

#define SESSION_WIRE_MAGIC 0x70677231u /* "pgr1" */

/*
 * The master trusts nothing in it but the pid, which it maps to the client address it accepted
 * itself; a record naming no live session of its own is dropped.
 */
struct session_wire_report {
	uint32_t magic;
	uint32_t event;      /* enum session_event */
	pid_t session_pid;   /* the master's direct child serving the connection */
	char user[64];
};

#endif
