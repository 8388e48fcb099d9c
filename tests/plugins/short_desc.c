/* Fixture: a descriptor recording fewer bytes than ABI 1.0 needs (it ends
 * before "flags").  The object really is that short, so a loader that read
 * "flags" anyway trips AddressSanitizer. */
#include <string.h>

#include <stadion/probe.h>

static const char *const short_protocols[] = {"TCP", NULL};

static int short_check(void *state, const struct stadion_probe_target *target,
                       stadion_probe_done_fn *done, void *done_arg,
                       struct stadion_err *err)
{
	return STADION_ENOTSUP;
}

static const struct stadion_probe_ops short_ops = {
	.protocols = short_protocols,
	.check = short_check,
};

#define SHORT_SIZE (STADION_PLUGIN_DESC_SIZE_1_0 - sizeof(uint32_t))

static _Alignas(struct stadion_plugin_desc) unsigned char desc[SHORT_SIZE];

STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void);
STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void)
{
	const struct stadion_plugin_desc full = {
		.magic = STADION_PLUGIN_MAGIC,
		.abi_major = STADION_PLUGIN_ABI_MAJOR,
		.abi_minor = STADION_PLUGIN_ABI_MINOR,
		.desc_size = SHORT_SIZE,
		.kind = STADION_PLUGIN_KIND_PROBE,
		.name = "short_desc",
		.version = "1",
		.description = "fixture: short descriptor",
		.ops = &short_ops,
		.ops_size = sizeof(short_ops),
	};

	memcpy(desc, &full, sizeof(desc));
	return (const struct stadion_plugin_desc *)(void *)desc;
}
