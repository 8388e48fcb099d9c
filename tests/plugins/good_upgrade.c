/* Fixture: a well-formed upgrade strategy "all_at_once". */
#include <stadion/upgrade.h>

static int all_step(void *state, const struct stadion_upgrade_view *view,
                    struct stadion_upgrade_decision *decision_r,
                    struct stadion_err *err)
{
	decision_r->kill_old = view->old_running;
	decision_r->start_new = view->target - view->new_launched;
	return 0;
}

static const struct stadion_upgrade_ops all_ops = {.step = all_step};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_UPGRADE, "all_at_once", "1.0.0-rc1",
                      "fixture: good upgrade", all_ops);
