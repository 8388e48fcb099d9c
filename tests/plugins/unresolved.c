/* Fixture: a well-formed probe whose check() calls a function nothing
 * defines.  Opened lazily it would load and kill stadiond on the first
 * check; the loader must refuse it.  (Linked with -z undefs: see
 * Makefile.inc.) */
#include <stadion/probe.h>

int stadion_fixture_missing(void);

static const char *const unres_protocols[] = {"TCP", NULL};

static int unres_check(void *state, const struct stadion_probe_target *target,
                       stadion_probe_done_fn *done, void *done_arg,
                       struct stadion_err *err)
{
	return stadion_fixture_missing();
}

static const struct stadion_probe_ops unres_ops = {
	.protocols = unres_protocols,
	.check = unres_check,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "unresolved", "1",
                      "fixture: unresolved symbol", unres_ops);
