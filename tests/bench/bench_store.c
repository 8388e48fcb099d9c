#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "bench/bench_store.h"
#include "lib/testfs.h"
#include "plugin/plugin_conf.h"
#include "plugin/plugin_host.h"
#include "plugin/plugin_loader.h"

int bench_store_open(struct bench_store *s, const char *dir, const char *src,
                     const char *implementation, const char *conf_json)
{
	const char *base = strrchr(src, '/');
	char so[PATH_MAX + 64], cf[PATH_MAX + 32], errbuf[512];
	FILE *f;

	memset(s, 0, sizeof(*s));
	snprintf(so, sizeof(so), "%s/%s", dir, base != NULL ? base + 1 : src);
	snprintf(cf, sizeof(cf), "%s/plugin_conf.json", dir);
	if (!testfs_copy_file(src, so) || (f = fopen(cf, "w")) == NULL) {
		fprintf(stderr, "bench_store: cannot copy %s into %s\n", src,
		        dir);
		return -1;
	}
	fprintf(f, "{\"plugins\": {\"s\": {\"plugin\": \"storage\", "
	           "\"implementation\": \"%s\", \"configuration\": %s}}}\n",
	        implementation, conf_json);
	if (fclose(f) != 0 ||
	    plugin_conf_load(cf, &s->pconf, errbuf, sizeof(errbuf)) != 0) {
		fprintf(stderr, "bench_store: %s: %s\n", cf, errbuf);
		return -1;
	}
	if ((s->evb = event_base_new()) == NULL ||
	    (s->host = plugin_host_new(s->evb)) == NULL ||
	    (s->set = plugin_set_new(s->host, s->pconf)) == NULL ||
	    plugin_set_load_file(s->set, so) != 0) {
		fprintf(stderr, "bench_store: cannot load %s\n", so);
		return -1;
	}
	s->ops = s->set->loaded->ops;
	s->state = s->set->loaded->state;
	return 0;
}

void bench_store_close(struct bench_store *s)
{
	plugin_set_free(s->set);
	plugin_host_free(s->host);
	plugin_conf_free(s->pconf);
	if (s->evb != NULL)
		event_base_free(s->evb);
	memset(s, 0, sizeof(*s));
}
