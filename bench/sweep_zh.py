"""Template sweeps of the Chinese filter: one story shape x many actors, places, phrasings.

A probe tells whether one story is right; a sweep tells which words the filter lacks, by
running one shape (a platform closing accounts, a court refusing a crypto claim, a mine shut
in a prefecture, a rumour denied) through many actors, places and verbs. Each sweep has the
label every one of its stories should get; the script prints how many get it, and with
--show the ones that do not. --tree runs another checkout's filter (its compiled modules)
on the same stories, for a before/after in one run:

    .venv/bin/python bench/sweep_zh.py [--show] [--tree /tmp/start15] [SWEEP ...]
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

TOPIC = "china-crypto-enforcement"
Sweep = tuple[bool, list[tuple[str, str]]]


def sweeps() -> dict[str, Sweep]:
    """Each sweep's name -> (the label its stories should get, its (title, text) stories)."""
    S: dict[str, Sweep] = {}
    plats = [
        "抖音",
        "快手",
        "微博",
        "微信",
        "小红书",
        "知乎",
        "B站",
        "百度",
        "支付宝",
        "财付通",
        "京东",
        "拼多多",
        "闲鱼",
        "淘宝",
        "视频号",
        "今日头条",
        "西瓜视频",
        "豆瓣",
        "QQ",
        "虎牙",
        "斗鱼",
        "网易",
        "微信公众平台",
        "新浪微博",
        "腾讯",
        "美团",
    ]
    verbs = [
        "封禁",
        "封停",
        "关闭",
        "注销",
        "清理",
        "处置",
        "下架",
        "冻结",
        "限制",
        "永久封号",
        "禁言",
        "封号",
        "停用",
        "暂停",
        "拉黑",
        "永久关闭",
        "打击",
        "整治",
        "查处",
        "清退",
        "屏蔽",
        "删除",
    ]
    S["platform"] = (
        True,
        [
            (
                f"{p}{v}一批炒币引流账号",
                f"{p}发布公告，近期{v}了一批宣传虚拟货币投资、诱导用户到境外平台交易的账号。",
            )
            for p, v in itertools.product(plats[::2], verbs)
        ],
    )
    courts = [
        "北京市朝阳区人民法院",
        "上海金融法院",
        "杭州互联网法院",
        "深圳中院",
        "某区法院",
        "二审法院",
        "一审法院",
        "成都市中级人民法院",
        "法院",
        "最高人民法院",
        "广州互联网法院",
        "江苏高院",
    ]
    ruling = [
        "合同无效",
        "委托合同无效",
        "不受法律保护",
        "驳回诉讼请求",
        "驳回原告全部诉讼请求",
        "风险自担",
        "损失由其自行承担",
        "不予支持",
        "不予保护",
        "裁定驳回起诉",
        "认定无效",
        "违背公序良俗",
        "依法不予受理",
        "后果自负",
        "不属于法院受理范围",
        "借款不受保护",
    ]
    objs = [
        "比特币",
        "USDT",
        "泰达币",
        "虚拟货币",
        "数字货币",
        "以太坊",
        "矿机托管",
        "虚拟币理财",
        "币圈投资",
        "狗狗币",
    ]
    S["civil"] = (
        True,
        [
            (
                f"{c}：{o}纠纷{r}",
                f"原告委托被告购买{o}后发生亏损，起诉要求被告赔偿。{c}审理认为，{r}。",
            )
            for c, r, o in zip(
                itertools.cycle(courts), ruling * 6, itertools.cycle(objs), strict=False
            )
        ][:96],
    )
    actors = [
        "警方",
        "公安局",
        "派出所",
        "反诈中心",
        "市反诈中心",
        "网警",
        "金融监管局",
        "地方金融管理局",
        "银保监局",
        "人民银行某中心支行",
        "市场监管局",
        "处非办",
        "打非办",
        "检察院",
        "法院",
        "网信办",
        "宣传部",
        "防范和处置非法集资领导小组办公室",
        "金融办",
        "国家金融监督管理总局",
        "公安部",
        "国家反诈中心",
    ]
    forms = [
        "提醒：{x}是骗局",
        "发布预警：警惕{x}",
        "风险提示：远离{x}",
        "紧急提醒！{x}千万别碰",
        "提示广大市民谨防{x}",
        "揭露{x}套路",
        "发出警示：{x}均为非法",
        "再次提醒：{x}不受法律保护",
    ]
    xs = [
        "虚拟币投资",
        "炒币带单",
        "USDT搬砖",
        "数字货币理财",
        "“挖矿”高收益项目",
        "空气币",
        "比特币合约交易",
        "稳定币理财",
    ]
    S["warn"] = (
        True,
        [
            (f"{a}" + f.format(x=x), "")
            for a, f, x in zip(actors * 8, forms * 22, xs * 22, strict=False)
        ][:176],
    )
    places = [
        "四川",
        "云南",
        "新疆",
        "内蒙古",
        "青海",
        "贵州",
        "甘肃",
        "黑龙江",
        "鄂尔多斯",
        "阿坝州",
        "雅安",
        "乐山",
        "甘孜",
        "凉山",
        "准东",
        "哈密",
        "包头",
        "乌兰察布",
        "海西州",
        "西宁",
        "昌吉",
        "攀枝花",
        "宁夏",
        "河北",
        "山西",
        "湖南",
    ]
    mm = [
        "对虚拟货币“挖矿”项目断电",
        "清退比特币矿场",
        "关停虚拟币矿场",
        "对“挖矿”用户执行惩罚性电价",
        "对挖矿企业加征电价",
        "全面清理虚拟货币挖矿",
        "排查整治“挖矿”活动",
        "拆除比特币矿机",
        "停止为挖矿项目供电",
        "限期退出虚拟货币挖矿",
        "查处违规挖矿企业",
        "严禁虚拟货币挖矿",
        "切断矿场电源",
        "将挖矿列入淘汰类产业",
    ]
    S["mining"] = (
        True,
        [(f"{p}{x}", "") for p, x in zip(places * 14, mm * 26, strict=False)][:182],
    )
    disc = [
        "违规炒币",
        "违规买卖虚拟货币",
        "收受比特币",
        "利用职权参与虚拟货币挖矿",
        "为“挖矿”企业违规供电",
        "收受泰达币",
        "违规投资虚拟币",
        "借虚拟币收受贿赂",
    ]
    sanct = [
        "被开除党籍",
        "受到党内警告处分",
        "受到党内严重警告处分",
        "被留置",
        "被立案审查调查",
        "被双开",
        "被撤销党内职务",
        "受到政务记过处分",
        "被免职",
        "被移送检察机关",
        "留党察看",
        "被给予政务撤职处分",
        "被诫勉谈话",
        "受到降级处分",
    ]
    who = [
        "某县原县委书记",
        "某市原副市长",
        "某国企财务总监",
        "某局原局长",
        "某银行原行长",
        "某区发改局副局长",
        "某供电所所长",
        "某镇党委书记",
    ]
    S["discipline"] = (
        True,
        [(f"{w}{d}{s}", "") for w, d, s in zip(who * 14, disc * 14, sanct * 8, strict=False)][:112],
    )
    sfc = [
        "證監會警告公眾提防可疑虛擬資產交易平台",
        "證監會將XX列入可疑虛擬資產交易平台名單",
        "證監會就涉嫌虛擬資產詐騙網站發出警告",
        "證監會取消一名持牌人資格 涉推廣虛擬資產",
        "證監會禁止前代表重投業界 涉加密貨幣",
        "證監會起訴無牌虛擬資產交易平台",
        "證監會冒充網站警示：涉虛擬資產",
        "證監會對虛擬資產平台採取紀律行動",
        "證監會暫時吊銷代表牌照 涉虛擬資產",
        "審裁處裁定證監會對加密貨幣交易員處分成立",
        "證監會要求封鎖虛擬資產詐騙網站",
        "證監會聯同警方打擊虛擬資產騙案",
        "證監會譴責一虛擬資產平台",
        "證監會對加密貨幣交易平台罰款",
        "證監會凍結涉虛擬資產騙案資金",
        "證監會：JPEX未獲發牌 提醒投資者",
        "證監會就一加密貨幣ICO發出警告",
        "證監會叫停代幣發行",
    ]
    S["hk-sfc"] = (True, [(t, "") for t in sfc] + [("", t + "。") for t in sfc])
    hk = [
        "警方拘三人涉以虛擬貨幣洗黑錢",
        "海關破洗黑錢集團 涉加密貨幣",
        "警方破虛擬資產投資騙案",
        "商業罪案調查科拘捕加密貨幣騙案主腦",
        "網絡安全及科技罪案調查科破虛擬貨幣騙局",
        "警方搜查虛擬貨幣找換店",
        "區域法院判加密貨幣洗黑錢男子囚四年",
        "高等法院裁定比特幣騙案被告罪成",
        "海關拘男子涉USDT清洗黑錢",
        "警方凍結加密貨幣騙案資金",
        "警方檢獲比特幣礦機 涉盜電",
        "裁判法院判USDT洗錢案被告入獄",
        "警方瓦解以泰達幣洗黑錢集團",
        "警務處打擊虛擬資產詐騙",
        "警方呼籲市民提防加密貨幣騙局",
    ]
    S["hk-police"] = (True, [(t, "") for t in hk])
    # precision sweeps
    fake = [
        "游戏币",
        "Q币",
        "积分",
        "筹码",
        "点券",
        "钻石",
        "金币",
        "数字藏品",
        "代币券",
        "游戏代币",
        "会员积分",
        "电子代金券",
        "抖币",
        "虚拟礼物",
        "游戏装备",
        "点卡",
        "彩票",
        "赌场筹码",
        "商城代币",
    ]
    en = [
        "警方破获倒卖{f}诈骗案",
        "法院判决{f}买卖合同纠纷",
        "{f}诈骗团伙被抓获",
        "市场监管局查处违规发行{f}",
        "网信办整治违规{f}交易",
        "公安机关打掉利用{f}赌博团伙",
        "{f}交易平台被责令关停",
        "平台封禁一批倒卖{f}账号",
    ]
    S["no-crypto"] = (False, [(e.format(f=f), "") for e in en for f in fake])
    rum = [
        "网传{x}？官方辟谣",
        "{x}系谣言",
        "{x}？当地回应：不实",
        "{x}？平台否认",
        "{x}的消息是假的",
        "关于{x}的传言不实",
        "网传{x}，警方：系旧闻",
        "{x}？交易所回应：正常运营",
    ]
    rx = [
        "某交易所被查封",
        "比特币将被全面禁止",
        "多地矿场被断电",
        "币安高管被带走",
        "央行将严查炒币账户",
        "微信将封禁所有币圈账号",
    ]
    S["rumour"] = (False, [(r.format(x=x), "") for r in rum for x in rx])
    expl = [
        "虚拟货币交易违法吗？一文读懂",
        "炒币被骗怎么办？律师教你维权",
        "什么是挖矿？为何被禁止",
        "比特币合约为何被叫停？一文看懂",
        "投资虚拟币前必须知道的5个法律风险",
        "USDT被冻结怎么办？",
        "买卖虚拟货币会坐牢吗？律师解读",
        "银行卡因炒币被冻结怎么解冻",
        "币圈投资的法律边界在哪里",
        "虚拟货币纠纷：法院为何不保护？",
    ]
    S["explainer"] = (False, [(t, "") for t in expl])
    suits = [
        "两家区块链公司因技术服务费对簿公堂",
        "数字资产公司起诉合作方违约",
        "交易所起诉前员工泄露商业秘密",
        "矿机厂商起诉经销商拖欠货款",
        "比特大陆与前合伙人股权纠纷一审宣判",
        "两家Web3公司商标侵权案开庭",
        "加密钱包公司起诉对手专利侵权",
        "嘉楠科技起诉供应商违约",
    ]
    S["suit"] = (False, [(t, "") for t in suits])

    wa = [
        "县金融办",
        "市处非办",
        "区打非办",
        "省公安厅",
        "市市场监管局",
        "县人民检察院",
        "市消费者协会",
        "中国互联网金融协会",
        "省地方金融监督管理局",
        "国家金融监督管理总局某监管分局",
        "人民银行某分行",
        "市反诈骗中心",
        "县公安局网安大队",
        "市委网信办",
        "某派出所",
        "市金融工作局",
        "省通信管理局",
        "国家外汇管理局某分局",
        "市教育局",
        "某街道办事处",
    ]
    wl = [
        "近日，{a}发布风险提示，提醒公众警惕以虚拟货币、“数字资产”为名的非法集资活动，切勿参与。",
        "{a}提醒：近期有不法分子以“USDT高额返利”为诱饵实施诈骗，请勿轻信。",
        "{a}发出警示，虚拟货币相关业务活动属于非法金融活动，参与者风险自担。",
    ]
    S["warn-lead"] = (True, [(f"{a}：警惕虚拟货币骗局", w.format(a=a)) for a in wa for w in wl])
    hkact = [
        "警方",
        "香港警方",
        "海關",
        "香港海關",
        "商業罪案調查科",
        "網絡安全及科技罪案調查科",
        "毒品調查科",
        "有組織罪案及三合會調查科",
        "財富情報及調查科",
        "廉政公署",
        "律政司",
        "證監會",
    ]
    hkv = [
        "拘捕三名男子，涉嫌利用虛擬貨幣清洗黑錢約五千萬元。",
        "破獲一個以加密貨幣投資為名的詐騙集團，拘捕十人。",
        "搜查一間虛擬資產兌換店，檢走大批文件及電腦。",
        "凍結一批涉及虛擬資產騙案的資金約二千萬元。",
        "向一名涉嫌無牌經營虛擬資產交易所的男子提出檢控。",
    ]
    S["hk-lead"] = (True, [("", f"{a}昨日{v}") for a in hkact for v in hkv])
    tw = [
        "台北市警方",
        "新北地檢署",
        "台中地院",
        "金管會",
        "調查局",
        "刑事警察局",
        "高雄地方法院",
        "澳門司法警察局",
        "澳門檢察院",
        "澳門初級法院",
        "新加坡警方",
        "韓國檢方",
        "日本警方",
        "美國聯邦調查局",
    ]
    S["out-of-scope"] = (False, [("", f"{a}昨日{v}") for a in tw for v in hkv])

    thing = [
        "游戏币",
        "Q币",
        "抖币",
        "虚拟礼物",
        "积分",
        "会员积分",
        "游戏点券",
        "数字藏品",
        "区块链积分",
        "游戏内虚拟货币",
        "平台代币券",
        "虚拟道具",
        "电子代金券",
        "数字人民币",
        "游戏金币",
        "商城代币",
        "筹码",
        "彩票",
        "网络红包",
        "游戏账号",
    ]
    sh = [
        (
            "警方破获一起盗刷{t}案",
            "某市公安局近日破获一起盗刷他人{t}的案件，抓获犯罪嫌疑人5名，涉案金额20余万元。",
        ),
        ("法院：{t}买卖合同有效", "原告向被告购买{t}后被告拒不交付，法院判决被告返还价款。"),
        (
            "市场监管局查处违规销售{t}的商家",
            "市场监管部门对一家违规销售{t}的商家作出罚款5万元的行政处罚。",
        ),
        ("平台封禁一批违规倒卖{t}的账号", "某平台发布公告，对一批违规倒卖{t}的账号予以封禁。"),
        ("检察院起诉一起利用{t}洗钱案", "某区检察院对一起利用{t}转移赌资、洗钱的案件提起公诉。"),
    ]
    S["no-crypto-lead"] = (False, [(a.format(t=t), b.format(t=t)) for t in thing for a, b in sh])

    rum = [
        ("网传“{x}”？{w}", "近日，一则“{x}”的消息在社交媒体流传。{r}"),
        ("{x}？假的！", "有网友发帖称“{x}”。{r}"),
        ("关于“{x}”的说明", "针对网上“{x}”的说法，{r}"),
    ]
    xs = [
        "某交易所老板被警方带走",
        "央行将冻结所有炒币账户",
        "全国矿场月底前全部断电",
        "微信将封禁所有币圈群",
        "持有USDT将被判刑",
        "法院判决比特币交易全部无效",
    ]
    rs = [
        "记者向当地警方核实，警方表示未接到相关案件，该消息不实。",
        "官方回应称，从未发布过相关文件，纯属谣言。",
        "经核实，该信息系旧闻翻炒，并非最新情况。",
        "相关部门已辟谣，请勿传播。",
    ]
    ws = ["官方回应", "警方辟谣", "当地回应", "平台回应"]
    S["rumour-lead"] = (
        False,
        [
            (a.format(x=x, w=w), b.format(x=x, r=r))
            for (a, b) in rum
            for x in xs
            for r, w in zip(rs, ws, strict=False)
        ],
    )
    qs = [
        "炒币违法吗？律师：分情况",
        "虚拟货币被盗报警有用吗",
        "买卖USDT银行卡为何会被冻结",
        "在国内挖矿会被抓吗",
        "比特币合约亏损能起诉平台吗",
        "炒币赚的钱受法律保护吗",
        "币圈常见的五种骗局",
        "帮别人买U会构成犯罪吗",
    ]
    bs = [
        "律师表示，根据相关规定，虚拟货币交易活动属于非法金融活动，参与者可能面临账户被冻结、损失自担等风险。本文梳理常见情形。",
        "本文结合司法实践，分析虚拟货币交易中可能涉及的帮信罪、掩饰隐瞒犯罪所得罪等法律风险，供读者参考。",
        "很多人不知道，买卖虚拟货币的风险不只是亏钱。我们整理了几个你需要知道的要点。",
    ]
    S["explainer-lead"] = (False, [(q, b) for q in qs for b in bs])
    su = [
        (
            "{a}起诉{b}违约 索赔千万",
            "{a}与{b}因{c}产生纠纷，{a}向法院起诉，要求{b}支付拖欠款项及违约金。",
        ),
        ("{a}与{b}{c}纠纷二审宣判", "法院二审判决{b}向{a}支付款项，驳回{a}其他诉讼请求。"),
    ]
    pairs = [
        ("比特大陆", "前经销商", "矿机货款"),
        ("某数字资产公司", "技术服务商", "系统开发费"),
        ("嘉楠科技", "供应商", "芯片采购合同"),
        ("某区块链公司", "合作方", "股权转让"),
        ("某交易所运营方", "前员工", "竞业限制"),
        ("某矿机厂商", "物流公司", "运输合同"),
    ]
    S["suit-lead"] = (
        False,
        [(a.format(a=x, b=y, c=z), b.format(a=x, b=y, c=z)) for (a, b) in su for x, y, z in pairs],
    )
    return S


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="SWEEP", help="sweeps to run (default: all)")
    parser.add_argument("--show", action="store_true", help="print the stories a sweep gets wrong")
    parser.add_argument(
        "--tree", type=Path, help="the checkout whose filter runs (default: this one)"
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(args.tree or Path(__file__).resolve().parent.parent))
    from crawler.matcher import Matcher
    from crawler.watchlist import builtin_watchlist
    from tests.probing import match

    matcher = Matcher(builtin_watchlist())
    right = total = 0
    for name, (label, stories) in sweeps().items():
        if args.names and name not in args.names:
            continue
        wrong = [(t, x) for t, x in stories if (TOPIC in match(matcher, t, x).topics) != label]
        right, total = right + len(stories) - len(wrong), total + len(stories)
        print(f"{name:16} {len(stories) - len(wrong):4}/{len(stories):<4} (label {int(label)})")
        for title, text in wrong if args.show else []:
            print(f"    {'miss' if label else 'false alert'}: {title} | {text[:60]}")
    print(f"{'all':16} {right:4}/{total:<4}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
