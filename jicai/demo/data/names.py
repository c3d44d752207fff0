"""Name parts for synthetic institutions: plausible Shandong township/street names, private-hospital and
pharmacy-chain brands. Combined with real region names they give names such as 荣成市石岛镇卫生院."""

# Two-character township stems (镇/乡); many are common place-name stems across Shandong.
TOWNS = (
    "城关 王村 李庄 张集 柳林 石桥 双庙 马站 新店 大王 北关 南湖 东港 西湖 黄山 白马 青石 龙泉 凤凰 桃园 "
    "杨庄 孙集 郭店 刘家 高庄 朱村 徐楼 胡集 林河 何庄 罗圈 梁山 宋村 郑楼 谢庄 韩集 唐口 冯屯 于林 董家 "
    "萧庄 程集 曹庄 袁寨 邓集 许楼 傅家 沈庄 曾集 彭集 吕家 苏庄 卢村 蒋集 蔡庄 贾寨 丁庄 魏村 薛集 叶庄 "
    "阎村 余庄 潘集 杜村 戴庄 夏庄 钟楼 汪集 田庄 任村 姜庄 范集 方庄 石门 姚庄 谭村 廖庄 邹集 熊庄 金岭 "
    "陆庄 郝集 孔村 白庙 崔庄 康集 毛庄 邱村 秦庄 江集 史庄 顾村 侯庄 邵集 孟庄 龙山 万庄 段集 雷庄 钱村 "
    "汤庄 尹集 黎村 易庄 常集 武庄 乔村 贺庄 赖集 龚村 文庄 泉头 岔河 河口 桥头 辛店 埠头 官庄 店子 营子 "
    "铺集 寨里 屯里 集贤 仁和 永安 太平 长乐 福田 安乐 兴隆 丰收 和平 建新"
).split()

# Street (街道) stems for urban districts: community health service centres are named after them.
STREETS = (
    "解放路 北京路 人民路 建设路 和平路 胜利路 文化路 中山路 新华路 青年路 光明路 幸福路 朝阳路 东风路 "
    "团结路 友谊路 花园路 工业路 北园 南郊 东关 西关 站前 滨河 湖滨 山前 府前 黄河路 长江路 泰山路 燕山 "
    "青龙 甸柳 文东 姚家 龙洞 智远 洪楼 全福 东城 西城 南苑 北苑 新村 振兴 开发区 高新 科技城 海滨 "
    "金山 银河 翠园 桂花 丁香 玉兰 枫林 松山 观海 海港 东湖 怡园 皇冠 田村 羊亭 温泉 张村 嵩山"
).split()

PRIVATE_HOSPITAL_BRANDS = (
    "仁和 博爱 仁爱 华康 康复 福康 慈济 同仁 华美 德仁 和睦家 瑞康 阳光 安康 济民 惠民 康宁 永康 健民 爱尔眼科"
).split()

PHARMACY_CHAINS = (
    "漱玉平民大药房",
    "立健药店",
    "燕喜堂大药房",
    "老百姓大药房",
    "益丰大药房",
    "宏济堂大药房",
    "国大药房",
)

SURNAMES = "王 李 张 刘 陈 杨 赵 黄 周 吴 徐 孙 胡 朱 高 林 何 郭 马 罗 梁 宋 郑 谢 韩 唐 冯 于 董 萧".split()

CLINIC_KINDS = ("诊所", "中医诊所", "口腔诊所", "内科诊所", "中西医结合诊所")

# Tertiary hospitals of a city, by name pattern on the city name (e.g. 威海市 → 威海市立医院 style names).
CITY_HOSPITALS = (
    ("{city}人民医院", "public"),
    ("{city}中医医院", "public"),
    ("{city}中心医院", "public"),
    ("{city}妇幼保健院", "public"),
    ("{city}第二人民医院", "public"),
    ("{city}传染病医院", "public"),
    ("{city}精神卫生中心", "public"),
    ("{city}肿瘤医院", "public"),
    ("{city}第三人民医院", "public"),
    ("{city}口腔医院", "public"),
)

# Province-level hospitals in Jinan (real names) for scales that include 济南市.
PROVINCIAL_HOSPITALS = (
    "山东第一医科大学附属省立医院",
    "山东大学齐鲁医院",
    "山东第一医科大学第一附属医院（山东省泰山路医院）",
    "山东中医药大学附属医院",
    "山东省肿瘤医院",
    "山东省妇幼保健院",
    "山东省公共卫生临床中心",
)

# Military hospitals (real institutions of the PLA Joint Logistics Support Force and the Armed Police).
MILITARY_HOSPITALS = {
    "370100": ("中国人民解放军联勤保障部队第九六〇医院", "武警山东省总队医院"),
    "370200": ("中国人民解放军联勤保障部队第九七一医院",),
    "370600": ("中国人民解放军联勤保障部队第九七〇医院",),
    "371000": ("中国人民解放军联勤保障部队第九七〇医院威海院区",),
    "370800": ("中国人民解放军联勤保障部队第九六〇医院济宁院区",),
    "371300": ("中国人民解放军联勤保障部队第九六〇医院临沂院区",),
}
