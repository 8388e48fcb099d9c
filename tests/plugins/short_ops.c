/* Fixture: a probe whose ops table lacks "cancel" (shorter than ABI 1.0's).
 * The table really is that short: reading "cancel" trips AddressSanitizer. */
#include <stadion/probe.h>

static const char *const short_protocols[] = {"TCP", NULL};

static int short_check(void *state, const struct stadion_probe_target *target,
                       stadion_probe_done_fn *done, void *done_arg,
                       struct stadion_err *err)
{
	return STADION_ENOTSUP;
}

static const struct {
	stadion_create_fn *create;
	stadion_destroy_fn *destroy;
	const char *const *protocols;
	int (*check)(void *, const struct stadion_probe_target *,
	             stadion_probe_done_fn *, void *, struct stadion_err *);
} short_ops = {.protocols = short_protocols, .check = short_check};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "short_ops", "1",
                      "fixture: short ops table", short_ops);
