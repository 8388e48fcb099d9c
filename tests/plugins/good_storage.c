/* Fixture: a well-formed storage backend "memory_test".  create() allocates
 * its state and destroy() frees it, so a missing destroy() is a leak that
 * LeakSanitizer reports. */
#include <stdlib.h>

#include <stadion/storage.h>

static int mem_create(const struct stadion_host *host,
                      const struct stadion_conf *conf, void **state_r,
                      struct stadion_err *err)
{
	if ((*state_r = malloc(64)) == NULL)
		return stadion_err_set(err, STADION_ENOMEM, "out of memory");
	return 0;
}

static void mem_destroy(void *state)
{
	free(state);
}

static int mem_get(void *state, const char *key, stadion_storage_get_fn *done,
                   void *arg, struct stadion_err *err)
{
	return stadion_err_set(err, STADION_ENOTSUP, "fixture");
}

static int mem_put(void *state, const char *key, const void *value,
                   size_t len, stadion_storage_done_fn *done, void *arg,
                   struct stadion_err *err)
{
	return stadion_err_set(err, STADION_ENOTSUP, "fixture");
}

static int mem_del(void *state, const char *key, stadion_storage_done_fn *done,
                   void *arg, struct stadion_err *err)
{
	return stadion_err_set(err, STADION_ENOTSUP, "fixture");
}

static int mem_list(void *state, const char *key,
                    stadion_storage_list_fn *done, void *arg,
                    struct stadion_err *err)
{
	return stadion_err_set(err, STADION_ENOTSUP, "fixture");
}

static int mem_batch(void *state, const struct stadion_storage_op *ops,
                     size_t count, stadion_storage_done_fn *done, void *arg,
                     struct stadion_err *err)
{
	return stadion_err_set(err, STADION_ENOTSUP, "fixture");
}

static const struct stadion_storage_ops mem_ops = {
	.create = mem_create,
	.destroy = mem_destroy,
	.get = mem_get,
	.put = mem_put,
	.del = mem_del,
	.list = mem_list,
	.batch = mem_batch,
};

STADION_PLUGIN_DEFINE(STADION_PLUGIN_KIND_STORAGE, "memory_test", "3.2.1",
                      "fixture: good storage", mem_ops);
