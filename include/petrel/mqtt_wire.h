/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * MQTT 3.1.1 wire format (OASIS standard, 29 October 2014): packet types,
 * fixed-header flag bits, CONNECT flags, CONNACK and SUBACK return codes.
 * Constants only; the codec that reads and writes them is
 * dataplane/mqtt_codec.c (API in petrel/mqtt.h). Multi-byte integers on
 * the wire are big-endian (network order); strings are a 2-byte length
 * followed by that many bytes of UTF-8 (no terminator).
 *
 * Fixed header (every packet, section 2.2):
 *   offset size  meaning
 *   0      1     bits 7-4 packet type (PT_MQTT_T_*), bits 3-0 flags
 *   1      1-4   remaining length: 7 bits per byte, least significant
 *                group first, bit 7 = another byte follows; at most 4
 *                bytes, so at most PT_MQTT_REMLEN_MAX
 *
 * CONNECT variable header (3.1.2), after the fixed header:
 *   offset size  meaning
 *   0      6     protocol name: 00 04 'M' 'Q' 'T' 'T'
 *   6      1     protocol level: 4 for 3.1.1
 *   7      1     connect flags (PT_MQTT_CF_*)
 *   8      2     keep alive, seconds (0 = off)
 *   10     ...   payload: client id, [will topic, will message],
 *                [user name], [password], each 2-byte length + bytes
 *
 * PUBLISH (3.3): topic name (2-byte length + bytes), packet id (2 bytes,
 * only when QoS > 0), then the payload up to the remaining length.
 * PUBACK/PUBREC/PUBREL/PUBCOMP/UNSUBACK (3.4-3.7, 3.11): packet id only.
 * SUBSCRIBE (3.8): packet id, then one or more (filter, requested QoS
 * byte). SUBACK (3.9): packet id, then one return code per filter.
 * UNSUBSCRIBE (3.10): packet id, then one or more filters.
 * CONNACK (3.2): ack flags (bit 0 session present), return code.
 * PINGREQ, PINGRESP, DISCONNECT: fixed header only (remaining length 0).
 */
#ifndef PETREL_MQTT_WIRE_H
#define PETREL_MQTT_WIRE_H

/* Packet types (fixed header bits 7-4). 0 and 15 are reserved. */
#define PT_MQTT_T_CONNECT 1      /* client -> server */
#define PT_MQTT_T_CONNACK 2      /* server -> client */
#define PT_MQTT_T_PUBLISH 3      /* both */
#define PT_MQTT_T_PUBACK 4       /* both */
#define PT_MQTT_T_PUBREC 5       /* both */
#define PT_MQTT_T_PUBREL 6       /* both */
#define PT_MQTT_T_PUBCOMP 7      /* both */
#define PT_MQTT_T_SUBSCRIBE 8    /* client -> server */
#define PT_MQTT_T_SUBACK 9       /* server -> client */
#define PT_MQTT_T_UNSUBSCRIBE 10 /* client -> server */
#define PT_MQTT_T_UNSUBACK 11    /* server -> client */
#define PT_MQTT_T_PINGREQ 12     /* client -> server */
#define PT_MQTT_T_PINGRESP 13    /* server -> client */
#define PT_MQTT_T_DISCONNECT 14  /* client -> server */

/* Fixed-header flags (bits 3-0). PUBREL, SUBSCRIBE and UNSUBSCRIBE must
 * carry 0x2, every other type except PUBLISH 0x0 (MQTT-2.2.2-1). */
#define PT_MQTT_FLAGS_REQUIRED 0x2
#define PT_MQTT_PUB_DUP 0x08       /* redelivery; 0 when QoS 0 */
#define PT_MQTT_PUB_QOS_MASK 0x06  /* QoS in bits 2-1; 3 is invalid */
#define PT_MQTT_PUB_QOS_SHIFT 1
#define PT_MQTT_PUB_RETAIN 0x01

/* Remaining length: at most 4 bytes, so at most this many bytes. */
#define PT_MQTT_REMLEN_MAX 268435455u
#define PT_MQTT_REMLEN_BYTES_MAX 4

/* CONNECT protocol name and level accepted (3.1.2.1-2). */
#define PT_MQTT_PROTO_NAME "MQTT"
#define PT_MQTT_PROTO_LEVEL 4
/* MQTT 3.1's name: answered CONNACK 0x01, see pt_mqtt_parse(). */
#define PT_MQTT_PROTO_NAME_31 "MQIsdp"

/* CONNECT flags (3.1.2.3). */
#define PT_MQTT_CF_USERNAME 0x80
#define PT_MQTT_CF_PASSWORD 0x40  /* only with USERNAME (MQTT-3.1.2-22) */
#define PT_MQTT_CF_WILL_RETAIN 0x20
#define PT_MQTT_CF_WILL_QOS_MASK 0x18
#define PT_MQTT_CF_WILL_QOS_SHIFT 3
#define PT_MQTT_CF_WILL 0x04
#define PT_MQTT_CF_CLEAN 0x02
#define PT_MQTT_CF_RESERVED 0x01  /* must be 0 (MQTT-3.1.2-3) */

/* CONNACK acknowledge flags and return codes (3.2.2). */
#define PT_MQTT_CONNACK_SP 0x01   /* session present */
#define PT_MQTT_CONNACK_ACCEPTED 0x00
#define PT_MQTT_CONNACK_PROTOCOL 0x01     /* unacceptable protocol level */
#define PT_MQTT_CONNACK_IDENTIFIER 0x02   /* client id rejected */
#define PT_MQTT_CONNACK_UNAVAILABLE 0x03  /* server unavailable */
#define PT_MQTT_CONNACK_BAD_LOGIN 0x04    /* bad user name or password */
#define PT_MQTT_CONNACK_NOT_AUTHORIZED 0x05

/* SUBACK return codes (3.9.3): granted QoS, or failure. */
#define PT_MQTT_SUBACK_QOS0 0x00
#define PT_MQTT_SUBACK_QOS1 0x01
#define PT_MQTT_SUBACK_QOS2 0x02
#define PT_MQTT_SUBACK_FAILURE 0x80

#endif /* PETREL_MQTT_WIRE_H */
