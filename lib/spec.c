/* Model spec strings: "input 3x32x32; conv2d 16 3x3 pad=same; relu; ...". The parser
 * and the printer share the grammar described in dlsc.h. */
#include "internal.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 16
#define MAX_NUMBER DLSC_MAX_LAYER_SIZE

/* Numbers in specs are C text, "dropout 0.25", whatever the host's LC_NUMERIC: under a
 * program that called setlocale(LC_ALL, "") in a German or French locale, strtof would
 * stop at the '.' and printf write "0,25". The parser and the printer run under a C
 * numeric locale installed for the calling thread only (uselocale), for the call; the
 * thread's own is put back after. */
typedef struct c_numbers {
  locale_t c, previous;
} c_numbers;

static bool c_numbers_begin(c_numbers *scope) {
  scope->c = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (scope->c == (locale_t)0)
    return false;
  scope->previous = uselocale(scope->c);
  return true;
}

static void c_numbers_end(c_numbers *scope) {
  uselocale(scope->previous);
  freelocale(scope->c);
}

static bool parse_size(const char *text, size_t *value) {
  char *end;
  if (*text < '0' || *text > '9')
    return false;
  errno = 0;
  unsigned long long parsed = strtoull(text, &end, 10);
  if (errno || *end || parsed > MAX_NUMBER)
    return false;
  *value = (size_t)parsed;
  return true;
}

static bool parse_float(const char *text, float *value) {
  char *end;
  errno = 0;
  float parsed = strtof(text, &end);
  /* ERANGE on underflow still gives the nearest (subnormal) float, which a model may
   * hold and print; overflow, infinity and NaN are refused. */
  if ((errno && isinf(parsed)) || end == text || *end || !isfinite(parsed))
    return false;
  *value = parsed;
  return true;
}

/* "AxB" or "A" (then B = A). */
static bool parse_pair(const char *text, size_t *first, size_t *second) {
  char buffer[64];
  const char *x = strchr(text, 'x');
  if (!x)
    return parse_size(text, first) && (*second = *first, true);
  size_t length = (size_t)(x - text);
  if (length == 0 || length >= sizeof buffer)
    return false;
  memcpy(buffer, text, length);
  buffer[length] = '\0';
  return parse_size(buffer, first) && parse_size(x + 1, second);
}

static bool parse_triple(const char *text, dlsc_shape *shape) {
  char buffer[96];
  size_t length = strlen(text);
  const char *x = strchr(text, 'x');
  if (!x || length >= sizeof buffer)
    return false;
  memcpy(buffer, text, (size_t)(x - text));
  buffer[x - text] = '\0';
  return parse_size(buffer, &shape->channels) && parse_pair(x + 1, &shape->height, &shape->width) &&
         strchr(x + 1, 'x');
}

/* The blank-separated tokens of item, cut in place. Not strtok: its position is shared
 * by every thread, and specs are parsed on any thread (a thread once went on cutting
 * another thread's item). */
static size_t tokenize(char *item, char **tokens) {
  static const char blanks[] = " \t\r";
  size_t count = 0;
  for (char *at = item + strspn(item, blanks); *at; at += strspn(at, blanks)) {
    if (count == MAX_TOKENS)
      return MAX_TOKENS + 1;
    tokens[count++] = at;
    at += strcspn(at, blanks);
    if (*at)
      *at++ = '\0';
  }
  return count;
}

static bool parse_option(const char *token, dlsc_layer_config *c) {
  const char *eq = strchr(token, '=');
  if (!eq)
    return false;
  size_t key = (size_t)(eq - token);
  const char *value = eq + 1;
  bool one_d = c->kind == DLSC_LAYER_CONV1D;
  if (key == 6 && strncmp(token, "stride", 6) == 0)
    return one_d ? parse_size(value, &c->stride_w) : parse_pair(value, &c->stride_h, &c->stride_w);
  if (key == 3 && strncmp(token, "pad", 3) == 0) {
    if (strcmp(value, "same") == 0) {
      c->pad_h = one_d ? 0 : c->kernel_h / 2;
      c->pad_w = c->kernel_w / 2;
      return true;
    }
    return one_d ? parse_size(value, &c->pad_w) : parse_pair(value, &c->pad_h, &c->pad_w);
  }
  if (key == 4 && strncmp(token, "bias", 4) == 0) {
    size_t bias;
    if (!parse_size(value, &bias) || bias > 1)
      return false;
    c->bias = (int)bias;
    return true;
  }
  if (key == 3 && strncmp(token, "eps", 3) == 0)
    return parse_float(value, &c->epsilon);
  if (key == 8 && strncmp(token, "momentum", 8) == 0)
    return parse_float(value, &c->momentum);
  return false;
}

/* One layer item: word, its positional arguments, then options. */
static dlsc_status parse_layer(char **tokens, size_t count, dlsc_layer_config *c) {
  dlsc_layer_kind kind;
  if (count == 0 || !dlsc_layer_ops_named(tokens[0], &kind))
    return DLSC_ERR_BAD_FORMAT;
  dlsc_layer_config_init(c, kind);
  size_t positional = 0;
  bool ok = true;
  switch (kind) {
  case DLSC_LAYER_DENSE:
    ok = count > 1 && parse_size(tokens[1], &c->units);
    positional = 1;
    break;
  case DLSC_LAYER_CONV2D:
    ok = count > 2 && parse_size(tokens[1], &c->units) &&
         parse_pair(tokens[2], &c->kernel_h, &c->kernel_w);
    positional = 2;
    break;
  case DLSC_LAYER_CONV1D:
    ok = count > 2 && parse_size(tokens[1], &c->units) && parse_size(tokens[2], &c->kernel_w);
    c->kernel_h = 1;
    positional = 2;
    break;
  case DLSC_LAYER_MAXPOOL:
  case DLSC_LAYER_AVGPOOL:
    ok = count > 1 && parse_pair(tokens[1], &c->kernel_h, &c->kernel_w);
    positional = 1;
    break;
  case DLSC_LAYER_DROPOUT:
    ok = count > 1 && parse_float(tokens[1], &c->rate);
    positional = 1;
    break;
  default:
    break;
  }
  for (size_t i = 1 + positional; ok && i < count; i++)
    ok = parse_option(tokens[i], c);
  return ok ? DLSC_OK : DLSC_ERR_BAD_FORMAT;
}

/* The bytes of an item, its blanks trimmed: what a message about it should quote. */
static void item_span(const char *text, const char *item, size_t *offset, size_t *length) {
  const char *end = item + strlen(item);
  while (*item == ' ' || *item == '\t' || *item == '\r')
    item++;
  while (end > item && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
    end--;
  *offset = (size_t)(item - text);
  *length = (size_t)(end - item);
}

/* Builds the model of spec; on failure *fault_offset and *fault_length locate the item
 * refused (an empty span at the end when no item is at fault: no input item). */
static dlsc_status build_from_spec(const char *spec, uint64_t seed, dlsc_model_t **out,
                                   size_t *fault_offset, size_t *fault_length) {
  size_t length = strlen(spec);
  *fault_offset = 0;
  *fault_length = 0;
  char *text = malloc(length + 1);
  if (!text)
    return DLSC_ERR_OUT_OF_MEMORY;
  memcpy(text, spec, length + 1);
  dlsc_model_t *model = NULL;
  dlsc_status status = DLSC_OK;
  char *cursor = text;
  while (status == DLSC_OK && cursor) {
    char *item = cursor, *separator = strpbrk(cursor, ";\n");
    cursor = separator ? separator + 1 : NULL;
    if (separator)
      *separator = '\0';
    item_span(text, item, fault_offset, fault_length); /* before tokenize cuts the item */
    char *tokens[MAX_TOKENS];
    size_t count = tokenize(item, tokens);
    if (count == 0)
      continue; /* empty items are allowed: "a;;b", a trailing ';' */
    if (count > MAX_TOKENS) {
      status = DLSC_ERR_BAD_FORMAT;
    } else if (!model) {
      dlsc_shape input;
      if (count != 2 || strcmp(tokens[0], "input") != 0 || !parse_triple(tokens[1], &input))
        status = DLSC_ERR_BAD_FORMAT;
      else
        status = dlsc_model_create(input, seed, &model);
    } else {
      dlsc_layer_config config;
      status = parse_layer(tokens, count, &config);
      if (status == DLSC_OK)
        status = dlsc_model_add_layer(model, &config);
    }
  }
  free(text);
  if (status == DLSC_OK && !model) {
    status = DLSC_ERR_BAD_FORMAT;
    *fault_offset = length;
    *fault_length = 0;
  }
  if (status != DLSC_OK) {
    dlsc_model_destroy(model);
    return status;
  }
  *out = model;
  return DLSC_OK;
}

/* build_from_spec under C numbers (a locale object failing is an allocation failing). */
static dlsc_status build_in_c(const char *spec, uint64_t seed, dlsc_model_t **out,
                              size_t *fault_offset, size_t *fault_length) {
  c_numbers scope;
  if (!c_numbers_begin(&scope))
    return DLSC_ERR_OUT_OF_MEMORY;
  dlsc_status status = build_from_spec(spec, seed, out, fault_offset, fault_length);
  c_numbers_end(&scope);
  return status;
}

dlsc_status dlsc_model_create_from_spec(const char *spec, uint64_t seed, dlsc_model_t **out) {
  if (!spec || !out)
    return DLSC_ERR_INVALID_ARGUMENT;
  size_t offset, length;
  return build_in_c(spec, seed, out, &offset, &length);
}

dlsc_status dlsc_model_check_spec(const char *spec, dlsc_status *verdict, size_t *offset,
                                  size_t *length) {
  if (!spec || !verdict || !offset || !length)
    return DLSC_ERR_INVALID_ARGUMENT;
  dlsc_model_t *model = NULL;
  size_t fault_offset, fault_length;
  dlsc_status status = build_in_c(spec, 0, &model, &fault_offset, &fault_length);
  dlsc_model_destroy(model);
  if (status == DLSC_ERR_OUT_OF_MEMORY)
    return status; /* no verdict: the check itself ran out of memory */
  *verdict = status;
  *offset = status == DLSC_OK ? 0 : fault_offset;
  *length = status == DLSC_OK ? 0 : fault_length;
  return DLSC_OK;
}

/* ---- printing */

typedef struct text_sink {
  char *text;
  size_t capacity, length; /* length counts what would be written, even past capacity */
} text_sink;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void sink_printf(text_sink *sink, const char *format, ...) {
  va_list args;
  va_start(args, format);
  size_t room = sink->length < sink->capacity ? sink->capacity - sink->length : 0;
  int written = vsnprintf(room ? sink->text + sink->length : NULL, room, format, args);
  va_end(args);
  if (written > 0)
    sink->length += (size_t)written;
}

/* " NAME=value" (or " value" for an empty name) with the fewest digits that read back as
 * the same float: 0.1f prints as 0.1, not 0.100000001. */
static void sink_float(text_sink *sink, const char *name, float value) {
  char digits[32];
  for (int precision = 1; precision <= 9; precision++) {
    snprintf(digits, sizeof digits, "%.*g", precision, (double)value);
    if (strtof(digits, NULL) == value)
      break;
  }
  sink_printf(sink, " %s%s%s", name, *name ? "=" : "", digits);
}

static void describe_layer(text_sink *sink, const dlsc_layer *layer) {
  const dlsc_layer_config *c = &layer->config;
  sink_printf(sink, "%s", layer->ops->name);
  switch (c->kind) {
  case DLSC_LAYER_DENSE: sink_printf(sink, " %zu", c->units); break;
  case DLSC_LAYER_CONV2D: sink_printf(sink, " %zu %zux%zu", c->units, c->kernel_h, c->kernel_w); break;
  case DLSC_LAYER_CONV1D: sink_printf(sink, " %zu %zu", c->units, c->kernel_w); break;
  case DLSC_LAYER_MAXPOOL:
  case DLSC_LAYER_AVGPOOL: sink_printf(sink, " %zux%zu", c->kernel_h, c->kernel_w); break;
  case DLSC_LAYER_DROPOUT: sink_float(sink, "", c->rate); break;
  default: break;
  }
  bool conv = c->kind == DLSC_LAYER_CONV2D || c->kind == DLSC_LAYER_CONV1D;
  bool pool = c->kind == DLSC_LAYER_MAXPOOL || c->kind == DLSC_LAYER_AVGPOOL;
  if (c->kind == DLSC_LAYER_CONV1D) {
    if (c->stride_w != 1)
      sink_printf(sink, " stride=%zu", c->stride_w);
    if (c->pad_w)
      sink_printf(sink, " pad=%zu", c->pad_w);
  } else if (conv || pool) {
    size_t default_h = conv ? 1 : c->kernel_h, default_w = conv ? 1 : c->kernel_w;
    if (c->stride_h != default_h || c->stride_w != default_w)
      sink_printf(sink, " stride=%zux%zu", c->stride_h, c->stride_w);
    if (c->pad_h || c->pad_w)
      sink_printf(sink, " pad=%zux%zu", c->pad_h, c->pad_w);
  }
  if ((conv || c->kind == DLSC_LAYER_DENSE) && !c->bias)
    sink_printf(sink, " bias=0");
  /* Against the stored defaults, not constants: where float expressions are evaluated
   * in double (FLT_EVAL_METHOD 1, s390x), 0.1f is 0.1 and differs from any float. */
  dlsc_layer_config defaults;
  dlsc_layer_config_init(&defaults, c->kind);
  if ((c->kind == DLSC_LAYER_BATCHNORM || c->kind == DLSC_LAYER_LOG) &&
      c->epsilon != defaults.epsilon)
    sink_float(sink, "eps", c->epsilon);
  if (c->kind == DLSC_LAYER_BATCHNORM && c->momentum != defaults.momentum)
    sink_float(sink, "momentum", c->momentum);
}

static size_t print_model(const dlsc_model_t *model, char *text, size_t capacity) {
  text_sink sink = {text, capacity, 0};
  sink_printf(&sink, "input %zux%zux%zu", model->input.channels, model->input.height,
              model->input.width);
  for (size_t i = 0; i < model->n_layers; i++) {
    sink_printf(&sink, "; ");
    describe_layer(&sink, &model->layers[i]);
  }
  return sink.length + 1;
}

/* Measures first, so that a buffer too small is left as it was. */
dlsc_status dlsc_model_describe(const dlsc_model_t *model, char *text, size_t capacity,
                                size_t *length) {
  if (!model || !length || (!text && capacity))
    return DLSC_ERR_INVALID_ARGUMENT;
  c_numbers scope;
  if (!c_numbers_begin(&scope))
    return DLSC_ERR_OUT_OF_MEMORY;
  size_t needed = print_model(model, NULL, 0);
  dlsc_status status = DLSC_OK;
  if (text && capacity < needed)
    status = DLSC_ERR_BUFFER_TOO_SMALL;
  else if (text)
    print_model(model, text, capacity);
  c_numbers_end(&scope);
  *length = needed;
  return status;
}
