/*
 * sched_ports: service port assignment at deployment time (Marathon's
 * AssignDynamicServiceLogic, marathon-api.md 3.9).
 *
 * Every service port 0 of the new root's apps (portDefinitions[].port in
 * host mode, container.portMappings[].servicePort otherwise) gets a port
 * of [port_min, port_max] (--local_port_min/--local_port_max, both
 * inclusive): first the ports the previous version of the same app had in
 * that range and the new version no longer declares, in their order; then
 * the lowest ports no app of the old or the new root uses.  Non-zero
 * service ports are kept as they are, in or out of the range.
 *
 * The numbers are written into the typed ports and into the app's
 * canonical JSON, so that GET shows them (reference 2.4).
 */
#ifndef STADION_SCHED_PORTS_H
#define STADION_SCHED_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include "model/model_app.h"

/* PortRangeExhaustedException's text, with port_min and port_max. */
#define SCHED_PORTS_MSG_EXHAUSTED                                           \
	"All ports in the range [%u-%u) are already in use"

/* Assign the service ports of NEW_APPS (N_NEW apps, changed in place) given
 * the previous root's OLD_APPS (N_OLD, borrowed; an app is the same app
 * when its id is).  Returns 0; -1 with errno ENOSPC and the message in
 * ERR (ERRLEN bytes, may be NULL) when the range is exhausted, EINVAL
 * when PORT_MIN > PORT_MAX or PORT_MAX > 65535, ENOMEM when out of
 * memory.  On failure no app is changed. */
int sched_ports_assign(const struct app *const *old_apps, size_t n_old,
                       struct app *const *new_apps, size_t n_new,
                       uint32_t port_min, uint32_t port_max, char *err,
                       size_t errlen);

#endif /* STADION_SCHED_PORTS_H */
