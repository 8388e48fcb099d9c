/* Fixture: an entry symbol whose "descriptor" has a bad magic.  The object
 * is only the 4-byte magic (aligned like a descriptor), so a loader that
 * read further before checking the magic trips AddressSanitizer. */
#include <stadion/plugin.h>

static const _Alignas(struct stadion_plugin_desc) uint32_t not_magic =
	0xdeadbeefu;

STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void);
STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void)
{
	return (const struct stadion_plugin_desc *)(const void *)&not_magic;
}
