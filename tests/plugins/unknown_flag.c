/* Fixture: a descriptor setting flag bit 0x8, unknown in ABI 1.0. */
#include <stadion/probe.h>

static const char *const flag_protocols[] = {"TCP", NULL};

static int flag_check(void *state, const struct stadion_probe_target *target,
                      stadion_probe_done_fn *done, void *done_arg,
                      struct stadion_err *err)
{
	return STADION_ENOTSUP;
}

static const struct stadion_probe_ops flag_ops = {
	.protocols = flag_protocols,
	.check = flag_check,
};

STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void);
STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void)
{
	static const struct stadion_plugin_desc desc = {
		.magic = STADION_PLUGIN_MAGIC,
		.abi_major = STADION_PLUGIN_ABI_MAJOR,
		.abi_minor = STADION_PLUGIN_ABI_MINOR,
		.desc_size = sizeof(desc),
		.kind = STADION_PLUGIN_KIND_PROBE,
		.name = "unknown_flag",
		.version = "1",
		.description = "fixture: unknown flag",
		.ops = &flag_ops,
		.ops_size = sizeof(flag_ops),
		.flags = 0x8u,
	};
	return &desc;
}
