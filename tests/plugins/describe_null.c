/* Fixture: an entry symbol that returns no descriptor. */
#include <stadion/plugin.h>

STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void);
STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *
stadion_plugin_describe(void)
{
	return NULL;
}
