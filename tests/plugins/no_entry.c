/* Fixture: a shared object that exports no stadion_plugin_describe.  Its
 * describe function lacks STADION_PLUGIN_EXPORT (the mistake a plugin author
 * makes), so -fvisibility=hidden keeps it out of the dynamic symbol table.
 * (Not defining it at all leaves PLUGIN_LINK_FLAGS' export list empty, which
 * GNU ld refuses as a version script.) */
#include <stadion/plugin.h>

const struct stadion_plugin_desc *stadion_plugin_describe(void);
const struct stadion_plugin_desc *stadion_plugin_describe(void)
{
	return NULL;
}
