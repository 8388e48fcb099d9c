/* Fixture: a well-formed upgrade strategy "all_at_once" (stateless: no
 * begin/end, so it gets a NULL step state). */
#include <stadion/upgrade.h>

static int all_step(void *state, void *step,
                    const struct stadion_upgrade_view *view,
                    struct stadion_upgrade_decision *decision_r,
                    struct stadion_err *err)
{
	decision_r->kill_old = view->old_running;
	decision_r->start_new = view->target > view->new_started
	                                ? view->target - view->new_started
	                                : 0;
	return 0;
}

static const struct stadion_upgrade_ops all_ops = {.step = all_step};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_UPGRADE, "all_at_once", "1.0.0-rc1",
                      "fixture: good upgrade", all_ops);
