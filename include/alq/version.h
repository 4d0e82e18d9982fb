/* alq/version.h */
#ifndef ALQ_VERSION_H
#define ALQ_VERSION_H
#define ALQ_VERSION "0.1.0"
#endif
