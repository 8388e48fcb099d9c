/*
 * api_selector: Marathon's label selector, the label= query of GET
 * /v2/apps (LabelSelectorParsers.scala, reference 1.1):
 *   query     selector {"," selector}      every selector must match
 *   selector  term                          the label exists
 *             term ("==" | "!=") term       its value is / is not
 *             term ("in" | "notin") "(" [term {"," term}] ")"
 *   term      one or more of [-A-Za-z0-9_.] or "\" + any character
 * Blanks between tokens are skipped.  Every form needs the label to exist,
 * so "!=" and "notin" never match an app without it.  An empty query
 * matches every app.
 */
#ifndef STADION_API_SELECTOR_H
#define STADION_API_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "model/model_app.h"

struct api_selector;

/* Parse IN.  Returns 0 and *SEL_R (free it with api_selector_free); -1 when
 * IN is not a selector, with Marathon's 422 message ("Can not parse label
 * selector <IN>. Reason: ...") in ERR; -2 when out of memory. */
int api_selector_parse(const char *in, struct api_selector **sel_r,
                       char *err, size_t errlen);

/* Whether APP's labels satisfy every selector of SEL. */
bool api_selector_match(const struct api_selector *sel, const struct app *app);

/* NULL-safe. */
void api_selector_free(struct api_selector *sel);

#endif /* STADION_API_SELECTOR_H */
