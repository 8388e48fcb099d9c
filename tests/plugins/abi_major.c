/* Fixture: built for plugin ABI major + 1.  Only the frozen header exists,
 * as a plugin of another major may have any body: reading past it trips
 * AddressSanitizer. */
#include <stadion/plugin.h>

static const struct {
	_Alignas(struct stadion_plugin_desc) uint32_t magic;
	uint16_t abi_major, abi_minor;
	uint32_t desc_size, kind;
} header = {
	.magic = STADION_PLUGIN_MAGIC,
	.abi_major = STADION_PLUGIN_ABI_MAJOR + 1,
	.abi_minor = 0,
	.desc_size = sizeof(header),
	.kind = STADION_PLUGIN_KIND_PROBE,
};

STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void);
STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void)
{
	return (const struct stadion_plugin_desc *)(const void *)&header;
}
