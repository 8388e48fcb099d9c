/*
 * fixture.h: what the loader's fixture plugins share.  Each fixture is one
 * small .c that includes this and differs from a good probe in exactly the
 * way its loader case needs.
 */
#ifndef STADION_TEST_FIXTURE_H
#define STADION_TEST_FIXTURE_H

#include <stadion/probe.h>

/* FIXTURE_DESC's extra initializers override its defaults on purpose. */
#pragma GCC diagnostic ignored "-Woverride-init"

__attribute__((unused)) static const char *const fixture_protocols[] = {
	"TCP", NULL};

__attribute__((unused)) static int
fixture_check(void *state, const struct stadion_probe_target *target,
              stadion_probe_done_fn *done, void *done_arg,
              struct stadion_err *err)
{
	return stadion_err_set(err, STADION_ENOTSUP, "fixture");
}

/* A well-formed probe ops table. */
__attribute__((unused)) static const struct stadion_probe_ops fixture_ops = {
	.protocols = fixture_protocols,
	.check = fixture_check,
};

/* Define the entry symbol by hand, returning DESC_EXPR, for fixtures whose
 * descriptor STADION_PLUGIN_DEFINE would refuse to write. */
#define FIXTURE_ENTRY(desc_expr)                                            \
	STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *            \
	stadion_plugin_describe(void);                                      \
	STADION_PLUGIN_EXPORT const struct stadion_plugin_desc *            \
	stadion_plugin_describe(void)                                       \
	{                                                                   \
		return (desc_expr);                                         \
	}

/* A descriptor of the fixture probe, NAME, with the extra designated
 * initializers given (later ones override earlier ones). */
#define FIXTURE_DESC(name_, ...)                                            \
	{                                                                   \
		.magic = STADION_PLUGIN_MAGIC,                              \
		.abi_major = STADION_PLUGIN_ABI_MAJOR,                      \
		.abi_minor = STADION_PLUGIN_ABI_MINOR,                      \
		.desc_size = sizeof(struct stadion_plugin_desc),            \
		.kind = STADION_PLUGIN_KIND_PROBE,                          \
		.name = (name_),                                            \
		.version = "1",                                             \
		.description = "fixture",                                   \
		.ops = &fixture_ops,                                        \
		.ops_size = sizeof(fixture_ops),                            \
		__VA_ARGS__                                                 \
	}

#endif /* STADION_TEST_FIXTURE_H */
