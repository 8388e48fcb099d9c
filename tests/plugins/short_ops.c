/* Fixture: a probe whose ops table lacks "cancel" (shorter than ABI 1.0's).
 * The table really is that short: reading "cancel" trips AddressSanitizer. */
#include "fixture.h"

static const struct {
	stadion_create_fn *create;
	stadion_destroy_fn *destroy;
	const char *const *protocols;
	int (*check)(void *, const struct stadion_probe_target *,
	             stadion_probe_done_fn *, void *, struct stadion_err *);
} short_ops = {.protocols = fixture_protocols, .check = fixture_check};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_PROBE, "short_ops", "1",
                      "fixture: short ops table", short_ops);
