/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Port bring-up and teardown (see include/petrel/port.h).
 *
 * Queue i of the port belongs to dataplane core i. With more than one
 * queue, RSS over the IPv4/TCP 4-tuple is requested where the device has
 * it, so every packet of a connection reaches the same core; net_tap has
 * no hardware RSS but the kernel's tun driver already steers each flow to
 * one queue.
 */
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ethdev.h>

#include <petrel/config.h>
#include <petrel/log.h>
#include <petrel/port.h>

PT_LOG_REGISTER(dp_port, pt.dp.port, INFO);

int
pt_port_is_vdev(const char *devargs)
{
    return strncmp(devargs, "net_", 4) == 0 ||
           strncmp(devargs, "eth_", 4) == 0;
}

/*
 * Give the kernel side of a tap an address and bring it up. net_tap gives
 * the kernel interface the port's own MAC (it models the kernel interface
 * as the port itself); petrel is a separate host on that link, so the
 * kernel side gets a MAC of its own first (ours with the last bit flipped),
 * otherwise the kernel would talk to its own address.
 */
static int
tap_configure_host(const char *ifname, const struct rte_ether_addr *port_mac,
                   uint32_t ip, uint8_t prefix_len)
{
    struct ifreq ifr;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int rc = 0;

    if (fd < 0)
        return -errno;
    memset(&ifr, 0, sizeof(ifr));
    if (strlen(ifname) >= sizeof(ifr.ifr_name)) {
        close(fd);
        return -ENAMETOOLONG;
    }
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
    memcpy(ifr.ifr_hwaddr.sa_data, port_mac, RTE_ETHER_ADDR_LEN);
    ifr.ifr_hwaddr.sa_data[5] ^= 1;
    if (ioctl(fd, SIOCSIFHWADDR, &ifr) < 0) {
        rc = -errno;
        goto out;
    }
    memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = ip;
    if (ioctl(fd, SIOCSIFADDR, &ifr) < 0 && errno != EEXIST) {
        rc = -errno;
        goto out;
    }
    sin->sin_addr.s_addr = htonl(~0u << (32 - prefix_len));
    if (ioctl(fd, SIOCSIFNETMASK, &ifr) < 0) {
        rc = -errno;
        goto out;
    }
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        rc = -errno;
        goto out;
    }
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        rc = -errno;
out:
    close(fd);
    return rc;
}

int
pt_port_start(struct pt_port *port, const struct pt_config *cfg,
              uint16_t n_queues, struct rte_mempool *const *pools)
{
    struct rte_eth_conf conf;
    struct rte_eth_dev_info info;
    uint16_t nb_rxd = cfg->rx_desc, nb_txd = cfg->tx_desc;
    const char *comma;
    int rc;

    memset(port, 0, sizeof(*port));
    port->port_id = RTE_MAX_ETHPORTS;
    comma = strchr(cfg->port_devargs, ',');
    snprintf(port->name, sizeof(port->name), "%.*s",
             (int)(comma ? comma - cfg->port_devargs
                         : (long)strlen(cfg->port_devargs)),
             cfg->port_devargs);
    if (rte_eth_dev_get_port_by_name(port->name, &port->port_id) != 0) {
        PT_LOG(ERR, dp_port, "port %s not found (was it probed? see `port`)",
               port->name);
        port->port_id = RTE_MAX_ETHPORTS;
        return -ENODEV;
    }
    rc = rte_eth_dev_info_get(port->port_id, &info);
    if (rc != 0)
        return rc;
    if (n_queues > info.max_rx_queues || n_queues > info.max_tx_queues) {
        PT_LOG(ERR, dp_port, "port %s has %u RX / %u TX queues, %u needed",
               port->name, info.max_rx_queues, info.max_tx_queues, n_queues);
        return -EINVAL;
    }
    port->is_tap = strcmp(info.driver_name, "net_tap") == 0;

    memset(&conf, 0, sizeof(conf));
    if (n_queues > 1 && info.flow_type_rss_offloads != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf =
            (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP) & info.flow_type_rss_offloads;
    }
    /* checksums the device verifies are not summed again (ipv4.c, tcp_in.c
     * trust RX_*_CKSUM_GOOD and drop on _BAD) */
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM)
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
    if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_TCP_CKSUM)
        conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM;
    /* and the device fills the checksums of what TCP-lite sends */
    port->tx_cksum =
        (info.tx_offload_capa & (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
                                 RTE_ETH_TX_OFFLOAD_TCP_CKSUM)) ==
        (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM);
    if (port->tx_cksum)
        conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
                                RTE_ETH_TX_OFFLOAD_TCP_CKSUM;

    rc = rte_eth_dev_configure(port->port_id, n_queues, n_queues, &conf);
    if (rc != 0 && conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS) {
        PT_LOG(NOTICE, dp_port, "port %s refused RSS (%s); relying on the "
               "device's own flow steering", port->name, strerror(-rc));
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_NONE;
        conf.rx_adv_conf.rss_conf.rss_hf = 0;
        rc = rte_eth_dev_configure(port->port_id, n_queues, n_queues, &conf);
    }
    if (rc != 0) {
        PT_LOG(ERR, dp_port, "configure %s: %s", port->name, strerror(-rc));
        return rc;
    }
    rc = rte_eth_dev_adjust_nb_rx_tx_desc(port->port_id, &nb_rxd, &nb_txd);
    if (rc != 0)
        return rc;
    for (uint16_t q = 0; q < n_queues; q++) {
        int sock = pools[q]->socket_id;

        rc = rte_eth_rx_queue_setup(port->port_id, q, nb_rxd, sock, NULL,
                                    pools[q]);
        if (rc == 0)
            rc = rte_eth_tx_queue_setup(port->port_id, q, nb_txd, sock, NULL);
        if (rc != 0) {
            PT_LOG(ERR, dp_port, "queue %u setup on %s: %s", q, port->name,
                   strerror(-rc));
            return rc;
        }
    }
    rc = rte_eth_macaddr_get(port->port_id, &port->mac);
    if (rc == 0)
        rc = rte_eth_dev_start(port->port_id);
    if (rc != 0) {
        PT_LOG(ERR, dp_port, "start %s: %s", port->name, strerror(-rc));
        return rc;
    }
    port->n_queues = n_queues;

    if (port->is_tap) {
        if (info.if_index == 0 ||
            if_indextoname(info.if_index, port->ifname) == NULL)
            port->ifname[0] = '\0';
        if (cfg->tap_host_ip != 0) {
            if (port->ifname[0] == '\0')
                rc = -ENODEV;
            else
                rc = tap_configure_host(port->ifname, &port->mac,
                                        cfg->tap_host_ip,
                                        cfg->tap_host_prefix_len);
            if (rc != 0) {
                PT_LOG(ERR, dp_port, "cannot configure tap %s: %s",
                       port->ifname, strerror(-rc));
                return rc;
            }
        }
    }
    PT_LOG(INFO, dp_port, "port %s (%s) up: %u queue pair(s), mac "
           RTE_ETHER_ADDR_PRT_FMT "%s%s, checksums: rx %s, tx %s",
           port->name, info.driver_name, n_queues,
           RTE_ETHER_ADDR_BYTES(&port->mac),
           port->ifname[0] ? ", kernel side " : "", port->ifname,
           (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) ? "device"
                                                                 : "software",
           port->tx_cksum ? "device" : "software");
    return 0;
}

void
pt_port_stop(struct pt_port *port)
{
    if (port->port_id >= RTE_MAX_ETHPORTS)
        return;
    rte_eth_dev_stop(port->port_id);
    rte_eth_dev_close(port->port_id);
    port->port_id = RTE_MAX_ETHPORTS;
}

int
pt_port_link_up(const struct pt_port *port)
{
    struct rte_eth_link link;

    if (rte_eth_link_get_nowait(port->port_id, &link) != 0)
        return 0;
    return link.link_status == RTE_ETH_LINK_UP;
}
