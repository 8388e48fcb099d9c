/* Fixture: built for plugin ABI minor + 1 (a newer stadiond). */
#include <stadion/probe.h>

static const char *const minor_protocols[] = {"TCP", NULL};

static int minor_check(void *state, const struct stadion_probe_target *target,
                       stadion_probe_done_fn *done, void *done_arg,
                       struct stadion_err *err)
{
	return STADION_ENOTSUP;
}

static const struct stadion_probe_ops minor_ops = {
	.protocols = minor_protocols,
	.check = minor_check,
};

STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void);
STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void)
{
	static const struct stadion_plugin_desc desc = {
		.magic = STADION_PLUGIN_MAGIC,
		.abi_major = STADION_PLUGIN_ABI_MAJOR,
		.abi_minor = STADION_PLUGIN_ABI_MINOR + 1,
		.desc_size = sizeof(desc),
		.kind = STADION_PLUGIN_KIND_PROBE,
		.name = "newer",
		.version = "1",
		.description = "fixture: newer minor",
		.ops = &minor_ops,
		.ops_size = sizeof(minor_ops),
	};
	return &desc;
}
