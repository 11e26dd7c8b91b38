/* Command-line numbers for the example and benchmark programs (no libsndfile needed).
 * Not part of the library. */
#ifndef DLSC_EXAMPLE_OPTIONS_H
#define DLSC_EXAMPLE_OPTIONS_H

/* The value of a command-line option: all of text must be a number within min..max,
 * else a message naming the option and exit status 2 (usage). */
double number_option(const char *option, const char *text, double min, double max);
long long integer_option(const char *option, const char *text, long long min, long long max);

#endif
